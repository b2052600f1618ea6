"""Fall detection in the lab: recordings, replay, fitting, the NumPy reference and its benchmark."""
