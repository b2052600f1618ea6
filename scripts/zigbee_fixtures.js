// Zigbee2MQTT payloads from Zigbee2MQTT's own converter library (zigbee-herdsman-converters).
//
// For every model below: the definition Zigbee2MQTT would pick for the device (findByDevice on its
// Zigbee model id / Tuya fingerprint, so white labels report their own model), then synthetic Zigbee
// messages through the definition's fromZigbee converters' convert(model, msg, publish, options, meta),
// published the way Zigbee2MQTT 2.x does: the converted keys merged into the cached device state, the
// whole state published, `action` published but never cached, and (Home Assistant integration on)
// every state property the device exposes but has not reported yet published as null.
// Run through scripts/zigbee-fixtures, which installs the library from npm and writes
// tests/devices/zigbee/fixtures.json. `expect` is what each published state must become.
"use strict";
const fs = require("fs");
const path = require("path");
const zhc = require("zigbee-herdsman-converters");

const devicesDir = path.join(path.dirname(require.resolve("zigbee-herdsman-converters")), "devices");
const DONT_CACHE = /^action(_.*)?$|^button$/;

function findDefinitionSource(model) {
  for (const file of fs.readdirSync(devicesDir).filter((f) => f.endsWith(".js"))) {
    for (const d of require(path.join(devicesDir, file)).definitions || []) {
      if (d.model === model) return { d, identity: null };
      for (const w of d.whiteLabel || []) {
        if (w.model === model && w.fingerprint) return { d, identity: { modelID: (d.fingerprint || [{}])[0].modelID, ...w.fingerprint[0] } };
      }
    }
  }
  throw new Error(`no definition for ${model}`);
}

// Stand-ins for zigbee-herdsman's Device and Endpoint (the library tells them apart by class name).
class Device {
  constructor(identity, ieee) {
    Object.assign(this, {
      ieeeAddr: ieee, networkAddress: 0x1234, modelID: identity.modelID, manufacturerName: identity.manufacturerName,
      type: "EndDevice", powerSource: "Battery", meta: {}, interviewing: false, customClusters: {},
    });
    this.endpoints = [new Endpoint(this)];
  }
  getEndpoint(id) { return this.endpoints.find((e) => e.ID === id) || this.endpoints[0]; }
  save() {}
  addCustomCluster() {}
}
class Endpoint {
  constructor(device) {
    Object.assign(this, { ID: 1, deviceIeeeAddress: device.ieeeAddr, inputClusters: [], outputClusters: [], clusters: {}, meta: {} });
    this._device = device;
  }
  getDevice() { return this._device; }
  async read() { return {}; }
  async write() {}
  async command() {}
  async configureReporting() {}
  async bind() {}
  saveClusterAttributeKeyValue() {}
  getClusterAttributeValue() { return undefined; }
  supportsInputCluster() { return true; }
  supportsOutputCluster() { return true; }
}
const fakeDevice = (identity, ieee) => new Device(identity, ieee);

// -- synthetic Zigbee messages --
const ias = (zonestatus) => ({ cluster: "ssIasZone", type: "commandStatusChangeNotification", data: { zonestatus, extendedstatus: 0 } });
const battery = (percent) => ({ cluster: "genPowerCfg", type: "attributeReport", data: { batteryPercentageRemaining: percent * 2, batteryVoltage: 30 } });
const report = (cluster, data) => ({ cluster, type: "attributeReport", data });
const command = (cluster, type, data = {}) => ({ cluster, type, data });
const DP_TYPES = { raw: 0, bool: 1, value: 2, string: 3, enum: 4, bitmap: 5 };
function tuya(defn, name, kind, value) {
  const dp = (defn.meta.tuyaDatapoints || []).find((x) => x[1] === name);
  if (!dp) throw new Error(`${defn.model}: no Tuya datapoint ${name}`);
  return tuyaDp(dp[0], kind, value);
}
function tuyaDp(dp, kind, value) {
  let data;
  if (kind === "value") { data = Buffer.alloc(4); data.writeInt32BE(value); } else { data = Buffer.from([value]); }
  return { cluster: "manuSpecificTuya", type: "commandDataReport", data: { seq: 1, dpValues: [{ dp, datatype: DP_TYPES[kind], data }] } };
}

// Each case: the model as Zigbee2MQTT reports it, the registry's device type it is bound as, and steps:
// messages → one publish, with the events expected from it ("stream:key=value", "none").
const T = (name, kind, value) => (defn) => tuya(defn, name, kind, value);
const CASES = [
  // buttons
  { model: "TS0215A_sos", type: "sos_button", steps: [[[battery(100)], ["status:battery=100"]], [[command("ssIasAce", "commandEmergency")], ["alarm:kind=sos"]], [[command("ssIasAce", "commandEmergency")], ["alarm:kind=sos"]]] },
  { model: "R7052", type: "sos_button", steps: [[[command("ssIasAce", "commandEmergency")], ["alarm:kind=sos"]]] },
  { model: "BT400B", type: "sos_button", steps: [[[command("ssIasAce", "commandEmergency")], ["alarm:kind=sos"]]] },
  { model: "HS1EB/HS1EB-E", type: "sos_button", steps: [[[ias(1)], ["alarm:kind=sos"]], [[ias(0)], ["none"]], [[ias(3)], ["alarm:kind=sos"]]] },
  { model: "TS0601_sos", type: "sos_button", steps: [[[T("battery", "value", 90)], ["status:battery=90"]], [[T("action", "enum", 0)], ["alarm:kind=sos"]]] },
  { model: "ZG-101Z", type: "sos_button", steps: [[[tuyaDp(26, "enum", 0)], ["alarm:kind=sos"]], [[tuyaDp(26, "enum", 0)], ["alarm:kind=sos"]]] },
  { model: "MIR-SO100", type: "sos_button", steps: [[[{ cluster: "ssIasZone", type: "raw", data: Buffer.from([0x19, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]) }], ["alarm:kind=sos"]]] },
  { model: "SE21", type: "sos_button", steps: [[[ias(1)], ["alarm:kind=sos"]]] },
  { model: "PB206", type: "sos_button", steps: [[[ias(1)], ["alarm:kind=sos"]], [[ias(1)], ["alarm:kind=sos"]], [[ias(0)], ["none"]], [[ias(8)], ["status:battery_low=true"]]] },
  { model: "SNZB-01", type: "sos_button", steps: [[[command("genOnOff", "commandToggle")], ["alarm:kind=sos"]], [[command("genOnOff", "commandOff")], ["alarm:kind=sos"]], [[battery(80)], ["status:battery=80"]]] },
  { model: "WXKG11LM", type: "sos_button", steps: [[[report("genMultistateInput", { presentValue: 1 })], ["alarm:kind=sos"]], [[report("genMultistateInput", { presentValue: 2 })], ["alarm:kind=sos"]]] },
  { model: "SNZB-01", type: "switch", label: "SNZB-01 as a light switch", steps: [[[command("genOnOff", "commandToggle")], ["none"]]] },
  // motion (PIR)
  { model: "RTCGQ11LM", type: "pir", steps: [[[report("msOccupancySensing", { occupancy: 1 })], ["motion:occupancy=true"]], [[report("msIlluminanceMeasurement", { measuredValue: 20000 })], ["none"]], [[report("msOccupancySensing", { occupancy: 1 })], ["motion:occupancy=true"]]] },
  { model: "SNZB-03", type: "pir", steps: [[[ias(1)], ["motion:occupancy=true"]], [[battery(90)], ["status:battery=90"]], [[ias(0)], ["motion:occupancy=false"]]] },
  { model: "TS0202", type: "pir", steps: [[[ias(1)], ["motion:occupancy=true"]], [[ias(0)], ["motion:occupancy=false"]]] },
  // presence radars
  { model: "RTCZCGQ11LM", type: "presence", steps: [[[report("manuSpecificLumi", { 322: 1 })], ["presence:present=true"]], [[report("manuSpecificLumi", { 322: 1 })], ["none"]], [[report("manuSpecificLumi", { 323: 0 })], ["motion:occupancy=true"]], [[report("manuSpecificLumi", { 322: 1 })], ["none"]], [[report("manuSpecificLumi", { 323: 6 })], ["motion:occupancy=true"]], [[report("manuSpecificLumi", { 323: 1 })], ["motion:occupancy=true"]], [[report("manuSpecificLumi", { 322: 0 })], ["presence:present=false"]]] },
  { model: "FP1E", type: "presence", steps: [[[report("manuSpecificLumi", { 322: 1 })], ["presence:present=true"]], [[report("manuSpecificLumi", { 352: 3 })], ["motion:occupancy=true"]], [[report("manuSpecificLumi", { 352: 4 })], ["none"]], [[report("manuSpecificLumi", { 322: 1 })], ["none"]], [[report("manuSpecificLumi", { 352: 3 })], ["motion:occupancy=true"]], [[report("manuSpecificLumi", { 322: 0 })], ["presence:present=false"]]] },
  { model: "ZY-M100-S_1", type: "presence", steps: [[[T("presence", "enum", 1)], ["presence:present=true"]], [[T("illuminance", "value", 120)], ["none"]], [[T("presence", "enum", 0)], ["presence:present=false"]]] },
  // fall radars
  { model: "MIR-HE200-TY", type: "fall_radar", steps: [[[T("presence", "enum", 1)], ["presence:present=true"]], [[T("occupancy", "enum", 1)], ["none"]], [[T("fall_down_status", "enum", 1)], ["alarm:kind=fall,warning=true"]], [[T("fall_down_status", "enum", 2)], ["alarm:kind=fall"]], [[T("illuminance", "value", 30)], ["none"]]] },
  { model: "HS2FD-EF1-3.0", type: "fall_radar", steps: [[[report("msOccupancySensing", { occupancy: 0x03 })], ["presence:present=true"]], [[report("msOccupancySensing", { occupancy: 0x13 })], ["alarm:kind=fall,warning=true"]], [[report("msOccupancySensing", { occupancy: 0x23 })], ["alarm:kind=fall"]], [[report("msOccupancySensing", { occupancy: 0x01 })], ["none"]]] },
  { model: "FDS315", type: "fall_radar", steps: [[[report("fallDetectionOwon", { status: 1 })], ["presence:present=true"]], [[report("fallDetectionOwon", { status: 5 })], ["alarm:kind=fall"]], [[report("fallDetectionOwon", { status: 3 })], ["none"]], [[report("fallDetectionOwon", { status: 0 })], ["presence:present=false"]]] },
  // doors and cupboards
  { model: "MCCGQ11LM", type: "door", steps: [[[report("genOnOff", { onOff: 1 })], ["contact:open=true"]], [[report("genBasic", { 65281: { 1: 3005 } })], ["status:battery=100"]], [[report("genOnOff", { onOff: 0 })], ["contact:open=false"]]] },
  { model: "SNZB-04", type: "contact", steps: [[[ias(1)], ["contact:open=true"]], [[battery(70)], ["status:battery=70"]], [[ias(0)], ["contact:open=false"]]] },
  // water, smoke, gas
  { model: "SJCGQ11LM", type: "water_leak", steps: [[[ias(1)], ["env:water_leak=true"]], [[ias(0)], ["env:water_leak=false"]]] },
  { model: "SNZB-05", type: "water_leak", steps: [[[battery(100)], ["status:battery=100"]], [[ias(1)], ["env:water_leak=true"]]] },
  { model: "TS0207_water_leak_detector", type: "water_leak", steps: [[[ias(1)], ["env:water_leak=true"]]] },
  { model: "JTYJ-GD-01LM/BW", type: "smoke", steps: [[[ias(1)], ["env:smoke=true"]], [[ias(0)], ["env:smoke=false"]]] },
  { model: "HS3SA/HS1SA", type: "smoke", steps: [[[ias(0x101)], ["status:smoke_test=true"]], [[ias(0)], ["status:smoke_test=false"]], [[ias(0x100)], ["status:smoke_test=true"]], [[ias(0)], ["status:smoke_test=false"]], [[ias(1)], ["env:smoke=true"]], [[ias(0x5)], ["status:tamper=true"]]] },
  { model: "JTQJ-BF-01LM/BW", type: "gas", steps: [[[ias(1)], ["env:gas=true"]], [[ias(0)], ["env:gas=false"]]] },
  { model: "HS1CG", type: "gas", steps: [[[ias(1)], ["env:gas=true"]]] },
  // bed and seat pads
  { model: "SPM915", type: "bed", steps: [[[ias(0)], ["bed:occupied=true"]], [[ias(1)], ["bed:occupied=false"]]] },
  { model: "C3007", type: "seat", steps: [[[ias(1)], ["seat:occupied=true"]], [[ias(0)], ["seat:occupied=false"]]] },
  { model: "ZG-210Z", type: "seat", steps: [[[T("pressure_state", "enum", 1)], ["seat:occupied=true"]], [[T("pressure_state", "enum", 2)], ["none"]], [[T("pressure_state", "enum", 0)], ["seat:occupied=false"]]] },
  { model: "SNZB-03", type: "bed", label: "SNZB-03 under a bed", steps: [[[ias(1)], ["bed:occupied=true"]], [[ias(0)], ["bed:occupied=false"]]] },
  // vibration
  { model: "DJT11LM", type: "vibration", steps: [[[report("closuresDoorLock", { 85: 1 })], ["vibration:kind=vibration"]], [[report("closuresDoorLock", { 85: 3 })], ["vibration:kind=drop"]]] },
  { model: "TS0210", type: "vibration", steps: [[[ias(1)], ["vibration:kind=vibration"]]] },
];

let seq = 0;
async function main() {
  zhc.setLogger({ debug() {}, info() {}, warning() {}, error: (m) => console.error(m) });
  const out = [];
  let n = 0;
  for (const c of CASES) {
    const { d, identity } = findDefinitionSource(c.model);
    const ieee = "0x00124b00" + (0x10000000 + n++).toString(16).slice(1).padStart(8, "0");
    const identities = identity ? [identity] : (d.fingerprint || []).concat((d.zigbeeModel || []).map((modelID) => ({ modelID, manufacturerName: "" })));
    let device, defn;
    for (const candidate of identities) {
      device = fakeDevice(candidate, ieee);
      defn = await zhc.findByDevice(device);
      if (defn && defn.model === c.model) break;
      defn = undefined;
    }
    if (!defn) throw new Error(`findByDevice does not give ${c.model} for its own identities`);
    const endpoint = device.endpoints[0];
    const exposes = typeof defn.exposes === "function" ? defn.exposes(device, {}) : defn.exposes;
    const stateProps = [];
    for (const ex of exposes) for (const f of [ex, ...(ex.features || [])]) {
      if (f.property && f.access !== undefined && (f.access & 1) && !DONT_CACHE.test(f.property)) stateProps.push(f.property);
    }
    let state = {};
    const steps = [];
    for (const [messages, expect] of c.steps) {
      const converted = {};
      for (const raw of messages) {
        const m = typeof raw === "function" ? raw(defn) : raw;
        const msg = { ...m, endpoint, device, meta: { zclTransactionSequenceNumber: (seq = (seq + 1) % 256), manufacturerCode: null, rawData: Buffer.alloc(0) }, groupID: 0, linkquality: 120 };
        const meta = { state: { ...state }, device, deviceExposesChanged() {} };
        let any = false;
        for (const fz of defn.fromZigbee) {
          const clusters = Array.isArray(fz.cluster) ? fz.cluster : [fz.cluster];
          const types = Array.isArray(fz.type) ? fz.type : [fz.type];
          if (!clusters.includes(m.cluster) || !types.includes(m.type)) continue;
          const result = await fz.convert(defn, msg, () => {}, {}, meta);
          if (result && Object.keys(result).length) { Object.assign(converted, result); any = true; }
        }
        if (!any) throw new Error(`${c.model}: no converter output for ${m.cluster} ${m.type}`);
      }
      zhc.postProcessConvertedFromZigbeeMessage(defn, converted, {}, device);
      const published = { ...state, ...converted, linkquality: 120 };
      for (const p of stateProps) if (!(p in published)) published[p] = null;
      steps.push({ payload: published, expect });
      state = Object.fromEntries(Object.entries({ ...state, ...converted }).filter(([k]) => !DONT_CACHE.test(k)));
    }
    out.push({ model: defn.model, vendor: defn.vendor, type: c.type, label: c.label || defn.model, ieee, steps });
  }
  const version = require("zigbee-herdsman-converters/package.json").version;
  const target = process.argv[2];
  fs.writeFileSync(target, JSON.stringify({ generator: "scripts/zigbee_fixtures.js", library: `zigbee-herdsman-converters@${version}`, devices: out }, null, 1) + "\n");
  console.log(`${out.length} devices (${new Set(out.map((x) => x.model)).size} models) → ${target}`);
}
main().catch((e) => { console.error(e); process.exit(1); });
