// Host tests of the firmware's plain C++: the measurement maths on synthetic mains waveforms, the
// protocol against the shared vectors, the board's answers. No framework: a failed check prints
// what and where, and the exit status is the number of failures (capped).
//
//   test_host VECTORS.json [--emit RESULTS.json]
//
// With --emit it also writes what it encoded and decoded, so the Python suite can compare the
// two implementations byte for byte.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "../officina_mcu/src/board.h"
#include "../officina_mcu/src/protocol.h"
#include "../officina_mcu/src/rfid.h"
#include "../officina_mcu/src/rms.h"
#include "../officina_mcu/src/tx_queue.h"
#include "json_lite.h"

using namespace officina;
using json_lite::Value;

namespace {

int g_checks = 0;
int g_failures = 0;

void check(bool ok, const std::string& what) {
  ++g_checks;
  if (!ok) {
    ++g_failures;
    std::fprintf(stderr, "FAIL: %s\n", what.c_str());
  }
}

bool within(double got, double want, double relative) {
  return std::fabs(got - want) <= std::fabs(want) * relative;
}

std::string show(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

// ----- decimal text <-> fixed point -------------------------------------------------------------

// The exact decimal text of a JSON number as value x 10^places, rounded half away from zero.
int64_t scaled(const std::string& text, int places) {
  if (text.find_first_of("eE") != std::string::npos) throw std::runtime_error("exponent: " + text);
  bool negative = !text.empty() && text[0] == '-';
  std::string digits = negative ? text.substr(1) : text;
  size_t dot = digits.find('.');
  std::string whole = dot == std::string::npos ? digits : digits.substr(0, dot);
  std::string fraction = dot == std::string::npos ? "" : digits.substr(dot + 1);
  while (static_cast<int>(fraction.size()) <= places) fraction += '0';
  int64_t value = 0;
  for (char c : whole + fraction.substr(0, static_cast<size_t>(places))) value = value * 10 + (c - '0');
  if (fraction[static_cast<size_t>(places)] >= '5') ++value;
  return negative ? -value : value;
}

std::string fixed_text(int64_t value, int places) {
  std::string sign = value < 0 ? "-" : "";
  uint64_t magnitude = value < 0 ? static_cast<uint64_t>(-value) : static_cast<uint64_t>(value);
  uint64_t unit = 1;
  for (int i = 0; i < places; ++i) unit *= 10;
  std::string text = sign + std::to_string(magnitude / unit);
  if (places > 0) {
    std::string fraction = std::to_string(magnitude % unit);
    text += "." + std::string(static_cast<size_t>(places) - fraction.size(), '0') + fraction;
  }
  return text;
}

// ----- vectors' fields <-> frames ---------------------------------------------------------------

bool unsigned_fits(const Value& v, uint64_t maximum, uint64_t& out) {
  if (v.kind != Value::Kind::kNumber || v.text.find_first_of("-.eE") != std::string::npos) {
    return false;
  }
  if (v.text.size() > 19) return false;
  out = std::stoull(v.text);
  return out <= maximum;
}

void copy_text(char* out, size_t cap, const std::string& text, bool& ok) {
  if (text.size() >= cap) {
    ok = false;
    return;
  }
  std::memcpy(out, text.c_str(), text.size() + 1);
}

// Builds a C++ frame from a vector's Python-named fields; false when a value cannot even be held.
bool frame_from_fields(const std::string& type, const Value& f, Frame& frame) {
  std::memset(&frame, 0, sizeof frame);
  uint64_t n = 0;
  bool ok = true;
  auto u = [&](const char* key, uint64_t maximum) -> uint64_t {
    if (!unsigned_fits(f[key], maximum, n)) ok = false;
    return n;
  };
  if (type == "HELLO") {
    frame.type = FrameType::kHello;
    copy_text(frame.hello.firmware, sizeof frame.hello.firmware, f["firmware"].text, ok);
    frame.hello.protocol = static_cast<uint8_t>(u("protocol", 255));
    frame.hello.channels = static_cast<uint8_t>(u("channels", 255));
  } else if (type == "M") {
    frame.type = FrameType::kMeasurement;
    Measurement& m = frame.measurement;
    m.channel = static_cast<uint8_t>(u("channel", 255));
    m.seq = static_cast<uint32_t>(u("seq", 0xFFFFFFFFULL));
    m.irms_milli = scaled(f["irms"].text, 3);
    m.has_vrms = !f["vrms"].is_null();
    m.vrms_deci = m.has_vrms ? scaled(f["vrms"].text, 1) : 0;
    m.watts_deci = scaled(f["watts"].text, 1);
    m.wh_milli = scaled(f["wh"].text, 3);
    m.cycles = static_cast<uint16_t>(u("cycles", 0xFFFF));
  } else if (type == "CARD") {
    frame.type = FrameType::kCard;
    frame.card.reader = static_cast<uint8_t>(u("reader", 255));
    copy_text(frame.card.uid, sizeof frame.card.uid, f["uid"].text, ok);
  } else if (type == "ACK") {
    frame.type = FrameType::kAck;
    frame.ack.channel = static_cast<uint8_t>(u("channel", 255));
    frame.ack.closed = f["closed"].boolean;
    frame.ack.seq = static_cast<uint16_t>(u("seq", 0xFFFF));
  } else if (type == "RELAY") {
    frame.type = FrameType::kRelay;
    frame.relay.channel = static_cast<uint8_t>(u("channel", 255));
    frame.relay.closed = f["closed"].boolean;
    frame.relay.seq = static_cast<uint16_t>(u("seq", 0xFFFF));
  } else if (type == "HB") {
    frame.type = FrameType::kHeartbeat;
    frame.heartbeat.uptime_ms = static_cast<uint32_t>(u("uptime_ms", 0xFFFFFFFFULL));
  } else if (type == "ERR") {
    frame.type = FrameType::kError;
    copy_text(frame.error.code, sizeof frame.error.code, f["code"].text, ok);
    copy_text(frame.error.detail, sizeof frame.error.detail, f["detail"].text, ok);
  } else if (type == "PING") {
    frame.type = FrameType::kPing;
    frame.ping.protocol = static_cast<uint8_t>(u("protocol", 255));
  } else {
    throw std::runtime_error("vector of unknown type " + type);
  }
  return ok;
}

std::string encode_frame(const Frame& frame) {
  char line[kLineBuffer];
  size_t length = encode(frame, line, sizeof line);
  return std::string(line, length);
}

// The frame's fields as a JSON object named as the Python dataclasses name them.
std::string fields_json(const Frame& frame) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  auto b = [](bool v) { return std::string(v ? "true" : "false"); };
  switch (frame.type) {
    case FrameType::kHello:
      return "{\"firmware\": " + json_lite::quote(frame.hello.firmware) +
             ", \"protocol\": " + n(frame.hello.protocol) +
             ", \"channels\": " + n(frame.hello.channels) + "}";
    case FrameType::kMeasurement: {
      const Measurement& m = frame.measurement;
      return "{\"channel\": " + n(m.channel) + ", \"seq\": " + n(m.seq) +
             ", \"irms\": " + fixed_text(m.irms_milli, 3) +
             ", \"vrms\": " + (m.has_vrms ? fixed_text(m.vrms_deci, 1) : "null") +
             ", \"watts\": " + fixed_text(m.watts_deci, 1) + ", \"wh\": " +
             fixed_text(m.wh_milli, 3) + ", \"cycles\": " + n(m.cycles) + "}";
    }
    case FrameType::kCard:
      return "{\"reader\": " + n(frame.card.reader) +
             ", \"uid\": " + json_lite::quote(frame.card.uid) + "}";
    case FrameType::kAck:
      return "{\"channel\": " + n(frame.ack.channel) + ", \"closed\": " + b(frame.ack.closed) +
             ", \"seq\": " + n(frame.ack.seq) + "}";
    case FrameType::kHeartbeat:
      return "{\"uptime_ms\": " + n(frame.heartbeat.uptime_ms) + "}";
    case FrameType::kError:
      return "{\"code\": " + json_lite::quote(frame.error.code) +
             ", \"detail\": " + json_lite::quote(frame.error.detail) + "}";
    case FrameType::kRelay:
      return "{\"channel\": " + n(frame.relay.channel) +
             ", \"closed\": " + b(frame.relay.closed) + ", \"seq\": " + n(frame.relay.seq) +
             "}";
    case FrameType::kPing:
      return "{\"protocol\": " + n(frame.ping.protocol) + "}";
  }
  return "{}";
}

bool same_frame(const Frame& a, const Frame& b) {
  return a.type == b.type && fields_json(a) == fields_json(b);
}

// Decodes one whole line through a fresh streaming parser: exactly one event is expected.
struct LineResult {
  bool frame_ok = false;
  int events = 0;
  Frame frame{};
  Reject reject{};
};

LineResult decode_whole_line(const std::string& line) {
  LineParser parser;
  LineResult result;
  for (unsigned char c : line) {
    ParseEvent event = parser.feed(c);
    if (event == ParseEvent::kNone) continue;
    ++result.events;
    result.frame_ok = event == ParseEvent::kFrame;
    if (result.frame_ok) {
      result.frame = parser.frame();
    } else {
      result.reject = parser.reject();
    }
  }
  return result;
}

std::string decoded_json(const LineResult& r) {
  if (r.frame_ok) {
    return std::string("{\"ok\": true, \"type\": \"") + frame_type_name(r.frame.type) +
           "\", \"fields\": " + fields_json(r.frame) + "}";
  }
  return std::string("{\"ok\": false, \"reject\": \"") + reject_name(r.reject.kind) +
         "\", \"field\": " + (r.reject.field ? json_lite::quote(r.reject.field) : "null") +
         ", \"frame_type\": " + json_lite::quote(r.reject.frame_type) + "}";
}

std::string counters_json(const ParserCounters& c) {
  auto n = [](uint32_t v) { return std::to_string(v); };
  return "{\"frames\": " + n(c.frames) + ", \"bad_crc\": " + n(c.bad_crc) +
         ", \"malformed\": " + n(c.malformed) + ", \"unknown_type\": " + n(c.unknown_type) +
         ", \"overlong\": " + n(c.overlong) + ", \"garbage_bytes\": " + n(c.garbage_bytes) +
         "}";
}

// ----- the protocol against the shared vectors ----------------------------------------------------

struct Emitted {
  std::vector<std::string> encoded;      // {"name", "line"}
  std::vector<std::string> decoded;      // {"line", result...}
  std::vector<std::string> unencodable;  // {"name", "refused"}
  std::vector<std::string> streams;      // {"name", "frames", "counters"}
};

void check_vectors(const Value& doc, Emitted& out) {
  for (const char* section : {"frames", "rounded"}) {
    for (const Value& v : doc[section].items) {
      const std::string& name = v["name"].text;
      Frame frame;
      bool held = frame_from_fields(v["type"].text, v["fields"], frame);
      std::string line = held ? encode_frame(frame) : "";
      check(line == v["line"].text, std::string(section) + " '" + name + "' encodes to " +
                                        v["line"].text + " (C++ wrote " + line + ")");
      out.encoded.push_back("{\"name\": " + json_lite::quote(name) +
                            ", \"line\": " + json_lite::quote(line) + "}");
    }
  }
  for (const char* section : {"frames", "rounded", "accepted"}) {
    for (const Value& v : doc[section].items) {
      const std::string& name = v["name"].text;
      LineResult r = decode_whole_line(v["line"].text);
      Frame want;
      const Value& fields = v.has("decodes_as") ? v["decodes_as"] : v["fields"];
      frame_from_fields(v["type"].text, fields, want);
      check(r.events == 1 && r.frame_ok && same_frame(r.frame, want),
            std::string(section) + " '" + name + "' decodes to its fields (C++ read " +
                decoded_json(r) + ")");
      out.decoded.push_back("{\"line\": " + json_lite::quote(v["line"].text) +
                            ", \"result\": " + decoded_json(r) + "}");
    }
  }
  for (const Value& v : doc["rejected"].items) {
    const std::string& name = v["name"].text;
    LineResult r = decode_whole_line(v["line"].text);
    bool field_ok = v["field"].is_null() ? r.reject.field == nullptr
                                         : (r.reject.field && v["field"].text == r.reject.field);
    check(r.events == 1 && !r.frame_ok && v["reject"].text == reject_name(r.reject.kind) &&
              field_ok && v["frame_type"].text == r.reject.frame_type,
          "rejected '" + name + "' is refused as " + v["reject"].text + " (C++: " +
              decoded_json(r) + ")");
    out.decoded.push_back("{\"line\": " + json_lite::quote(v["line"].text) +
                          ", \"result\": " + decoded_json(r) + "}");
  }
  for (const Value& v : doc["unencodable"].items) {
    const std::string& name = v["name"].text;
    Frame frame;
    bool held = frame_from_fields(v["type"].text, v["fields"], frame);
    bool refused = !held || encode_frame(frame).empty();
    check(refused, "unencodable '" + name + "' is refused by the encoder");
    out.unencodable.push_back("{\"name\": " + json_lite::quote(name) +
                              ", \"refused\": " + (refused ? "true" : "false") + "}");
  }
  for (const Value& v : doc["streams"].items) {
    const std::string& name = v["name"].text;
    LineParser parser;
    std::vector<std::string> frames;
    for (unsigned char c : v["bytes"].text) {
      if (parser.feed(c) == ParseEvent::kFrame) frames.push_back(encode_frame(parser.frame()));
    }
    std::vector<std::string> want;
    for (const Value& line : v["frames"].items) want.push_back(line.text);
    const Value& c = v["counters"];
    const ParserCounters& got = parser.counters();
    bool counters_ok = std::to_string(got.frames) == c["frames"].text &&
                       std::to_string(got.bad_crc) == c["bad_crc"].text &&
                       std::to_string(got.malformed) == c["malformed"].text &&
                       std::to_string(got.unknown_type) == c["unknown_type"].text &&
                       std::to_string(got.overlong) == c["overlong"].text &&
                       std::to_string(got.garbage_bytes) == c["garbage_bytes"].text;
    check(frames == want, "stream '" + name + "' yields its frames");
    check(counters_ok, "stream '" + name + "' counts " + counters_json(got));
    std::string list = "[";
    for (size_t i = 0; i < frames.size(); ++i) {
      list += (i ? ", " : "") + json_lite::quote(frames[i]);
    }
    out.streams.push_back("{\"name\": " + json_lite::quote(name) + ", \"frames\": " + list +
                          "], \"counters\": " + counters_json(got) + "}");
  }
}

// ----- protocol basics that need no vectors -----------------------------------------------------

void test_crc_check_value() {
  const char* text = "123456789";
  check(crc16(reinterpret_cast<const uint8_t*>(text), 9) == 0x29B1, "CRC of 123456789 is 29B1");
}

void test_encoder_refuses_a_buffer_too_small() {
  char line[10];
  Heartbeat hb{123456};
  check(encode(hb, line, sizeof line) == 0 && line[0] == '\0',
        "an encoder with too little room writes nothing");
}

void test_parser_recovers_frames_among_garbage() {
  LineParser parser;
  std::string stream = std::string("\x00\xff noise $RELAY,0,CLO", 20) + "$PING,1*F692\n" +
                       "$RELAY,0,CLOSE,17*1873\n" + "more noise" + "$RELAY,0,CLOSE,17*1872\r\n";
  int frames = 0, rejects = 0;
  bool relay_seen = false;
  for (unsigned char c : stream) {
    ParseEvent e = parser.feed(c);
    if (e == ParseEvent::kFrame) {
      ++frames;
      if (parser.frame().type == FrameType::kRelay) {
        relay_seen = parser.frame().relay.closed && parser.frame().relay.seq == 17;
      }
    } else if (e == ParseEvent::kReject) {
      ++rejects;
    }
  }
  check(frames == 2 && relay_seen, "the parser finds both good frames among garbage");
  check(rejects == 2 && parser.counters().bad_crc == 1 && parser.counters().malformed == 1,
        "the cut frame and the bad CRC are rejected and counted");
  check(parser.counters().garbage_bytes == 20 - 11 + 10,
        "noise outside frames is counted byte by byte");
}

void test_error_detail_for_a_rejected_host_line() {
  Reject reject{};
  reject.kind = RejectKind::kMalformed;
  reject.field = "action";
  DeviceError e = error_for(reject);
  check(std::strcmp(e.code, "MALFORMED") == 0 && std::strcmp(e.detail, "action") == 0,
        "a malformed host line is answered ERR,MALFORMED,<field>");
  Reject unknown{};
  unknown.kind = RejectKind::kUnknownType;
  std::strcpy(unknown.frame_type, "FO*O");
  e = error_for(unknown);
  check(std::strcmp(e.code, "UNKNOWN_TYPE") == 0 && std::strcmp(e.detail, "FO_O") == 0,
        "an unknown type is named in the ERR detail, made safe for the wire");
}

// ----- measurement on synthetic mains -----------------------------------------------------------

constexpr double kPi = 3.14159265358979323846;
constexpr double kSampleRate = 2500.0;  // 50 sample sets per 50 Hz cycle
constexpr double kVoltsPerCount = 230.0 * 1.4142135623730951 / 1000.0;  // 1000 counts = 230 V peak

// A 12-bit ADC looking at a biased CT and AC-AC adapter: sine, DC offset, uniform noise.
class MainsSynth {
 public:
  MainsSynth(double hz, double volts_rms, double amps_rms, double amps_per_count, double lag_deg)
      : hz_(hz), volts_peak_counts_(volts_rms * std::sqrt(2.0) / kVoltsPerCount),
        amps_peak_counts_(amps_rms * std::sqrt(2.0) / amps_per_count),
        lag_(lag_deg * kPi / 180.0) {}

  void next(int16_t& volts, int16_t& amps) {
    double t = static_cast<double>(n_++) / kSampleRate;
    double w = 2.0 * kPi * hz_ * t;
    volts = adc(1990.0 + volts_peak_counts_ * std::sin(w + 0.3));
    amps = adc(2107.0 + amps_peak_counts_ * std::sin(w + 0.3 - lag_));
  }

 private:
  int16_t adc(double value) {
    rng_ = rng_ * 1103515245u + 12345u;
    double noise = (static_cast<double>((rng_ >> 8) & 0xFFFF) / 65535.0 - 0.5) * 8.0;  // +-4
    double v = std::floor(value + noise + 0.5);
    return static_cast<int16_t>(v < 0 ? 0 : (v > 4095 ? 4095 : v));
  }

  double hz_;
  double volts_peak_counts_;
  double amps_peak_counts_;
  double lag_;
  uint64_t n_ = 0;
  uint32_t rng_ = 12345u;
};

MeterConfig meter_config(bool voltage_fitted, double amps_per_count) {
  MeterConfig config{};
  config.channels = 1;
  config.voltage_fitted = voltage_fitted;
  config.adc_midpoint = 2048.0f;
  config.volts_per_count = static_cast<float>(kVoltsPerCount);
  config.calibration[0] = ChannelCalibration{static_cast<float>(amps_per_count), 1.0f};
  config.cycles_per_window = 50;
  config.samples_per_cycle = 50;
  config.settle_cycles = 100;
  config.crossing_hysteresis = 20.0f;
  config.nominal_volts = 230.0f;
  return config;
}

struct Run {
  ChannelReading last{};
  int windows = 0;
  uint64_t elapsed_ms = 0;  // up to the last closed window
  int64_t wh_milli = 0;
};

// Feeds `seconds` of synthetic mains and collects the windows that closed.
Run run_meter(MainsMeter& meter, MainsSynth& synth, double seconds) {
  Run run;
  EnergyCounter energy;
  uint32_t samples_since = 0;
  long total = static_cast<long>(seconds * kSampleRate);
  for (long i = 0; i < total; ++i) {
    int16_t volts = 0, amps = 0;
    synth.next(volts, amps);
    ++samples_since;
    if (meter.add_sample(volts, &amps)) {
      run.last = meter.reading(0);
      ++run.windows;
      // the board integrates with its millisecond clock between readings
      uint32_t elapsed_ms = static_cast<uint32_t>(samples_since * 1000.0 / kSampleRate + 0.5);
      energy.add(run.last.watts, elapsed_ms);
      run.elapsed_ms += elapsed_ms;
      samples_since = 0;
    }
  }
  run.wh_milli = energy.wh_milli();
  return run;
}

void test_rms_of_a_sine_with_offset_and_noise() {
  const double amps_per_count = 10.0 * std::sqrt(2.0) / 800.0;
  for (double amps : {10.0, 1.0, 20.0}) {
    MainsMeter meter(meter_config(true, amps_per_count));
    MainsSynth synth(49.8, 230.0, amps, amps_per_count, 0.0);
    Run run = run_meter(meter, synth, 6.0);
    check(run.windows >= 3, "windows close every 50 cycles");
    check(within(run.last.irms, amps, 0.01),
          "Irms of a " + show(amps) + " A sine within 1 % (got " + show(run.last.irms) + ")");
    check(run.last.has_vrms && within(run.last.vrms, 230.0, 0.01),
          "Vrms of 230 V within 1 % (got " + show(run.last.vrms) + ")");
    check(run.last.cycles == 50, "the window holds 50 whole cycles found by zero crossings");
    check(within(run.last.samples, 2500.0 * 50 / 49.8, 0.01),
          "a window of 50 cycles at 49.8 Hz holds their samples (got " +
              std::to_string(run.last.samples) + ")");
  }
}

void test_real_power_and_energy_for_a_known_phase_shift() {
  const double amps_per_count = 10.0 * std::sqrt(2.0) / 800.0;
  struct Case {
    double lag_deg;
    double watts;
  } cases[] = {{30.0, 230.0 * 10.0 * std::cos(30.0 * kPi / 180.0)},
               {0.0, 2300.0},
               {180.0, -2300.0}};
  for (const Case& c : cases) {
    MainsMeter meter(meter_config(true, amps_per_count));
    MainsSynth synth(50.0, 230.0, 10.0, amps_per_count, c.lag_deg);
    Run run = run_meter(meter, synth, 2.0 + 60.0);  // 2 s settling, then a minute of windows
    check(within(run.last.watts, c.watts, 0.01),
          "real power at " + show(c.lag_deg) + " degrees within 1 % (got " +
              show(run.last.watts) + ", want " + show(c.watts) + ")");
    double want_wh = std::fabs(c.watts) * static_cast<double>(run.elapsed_ms) / 3600000.0;
    check(within(static_cast<double>(run.wh_milli) / 1000.0, want_wh, 0.01),
          "energy over " + std::to_string(run.elapsed_ms) + " ms within 1 % (got " +
              show(static_cast<double>(run.wh_milli) / 1000.0) + " Wh, want " + show(want_wh) + ")");
  }
  MainsMeter meter(meter_config(true, amps_per_count));
  MainsSynth synth(50.0, 230.0, 10.0, amps_per_count, 90.0);
  Run run = run_meter(meter, synth, 4.0);
  check(std::fabs(run.last.watts) < 0.01 * 2300.0,
        "a purely reactive load draws almost no real power (got " + show(run.last.watts) + ")");
}

void test_fixed_cycle_count_without_a_voltage_reference() {
  const double amps_per_count = 10.0 * std::sqrt(2.0) / 800.0;
  MainsMeter meter(meter_config(false, amps_per_count));
  MainsSynth synth(50.0, 230.0, 7.5, amps_per_count, 0.0);
  Run run = run_meter(meter, synth, 5.0);
  check(within(run.last.irms, 7.5, 0.01),
        "Irms without a voltage reference within 1 % (got " + show(run.last.irms) + ")");
  check(!run.last.has_vrms && run.last.cycles == 50 && run.last.samples == 2500,
        "without a reference a window is 50 nominal cycles of samples and no voltage");
  check(within(run.last.watts, 7.5 * 230.0, 0.01),
        "without a reference watts are Irms times the nominal voltage");
}

void test_windows_keep_coming_when_the_voltage_disappears() {
  const double amps_per_count = 10.0 * std::sqrt(2.0) / 800.0;
  MainsMeter meter(meter_config(true, amps_per_count));
  MainsSynth synth(50.0, 0.0, 5.0, amps_per_count, 0.0);  // adapter unplugged: no voltage
  Run run = run_meter(meter, synth, 8.0);
  check(run.windows >= 2 && run.last.cycles == 0,
        "with no voltage crossings windows still close, reporting 0 cycles");
  check(within(run.last.irms, 5.0, 0.02), "and the current is still measured");
}

void test_energy_counter_is_exact_over_a_long_run() {
  EnergyCounter energy;
  for (int hour = 0; hour < 24 * 30; ++hour) {
    for (int second = 0; second < 3600; ++second) energy.add(1000.0f, 1000);
  }
  check(energy.wh_milli() == 720000000LL, "a month at 1 kW counts 720 kWh to the milliwatt-hour");
  EnergyCounter backwards;
  backwards.add(-500.0f, 3600000);
  check(backwards.wh_milli() == 500000, "a clamp fitted backwards still counts energy");
}

// ----- the board ----------------------------------------------------------------------------------

bool g_relay_pins[kMaxRelays];
void drive_relay(uint8_t channel, bool closed) { g_relay_pins[channel] = closed; }

std::string drain(Board& board) {
  std::string out;
  uint8_t chunk[16];
  while (size_t n = board.outbox().take(chunk, sizeof chunk)) {
    out.append(reinterpret_cast<char*>(chunk), n);
  }
  return out;
}

void send(Board& board, const std::string& bytes, uint32_t now_ms) {
  for (unsigned char c : bytes) board.receive(c, now_ms);
}

// A scripted session; returns every byte the board sent. Python decodes the same bytes.
std::string board_session() {
  for (bool& pin : g_relay_pins) pin = true;  // whatever the pins were before reset
  Board board(BoardOptions{"officina-1.0.0", 2, 0}, drive_relay);
  std::string wire;
  board.begin(0);
  check(!g_relay_pins[0] && !g_relay_pins[1], "every relay is open after power-up");
  wire += drain(board);
  Frame hello{};
  hello.type = FrameType::kHello;
  std::strcpy(hello.hello.firmware, "officina-1.0.0");
  hello.hello.protocol = 1;
  hello.hello.channels = 2;
  check(wire == encode_frame(hello), "the board says HELLO at start-up");

  send(board, "$RELAY,0,CLOSE,17*1872\n", 10);
  std::string out = drain(board);
  check(g_relay_pins[0] && out == "$ACK,0,CLOSED,17*C283\n", "RELAY CLOSE closes and is ACKed");
  wire += out;

  send(board, "line noise \x01\x02", 20);
  check(drain(board).empty(), "noise gets no answer");
  send(board, "$RELAY,0,OPEN,18*C042\n", 30);
  out = drain(board);
  check(g_relay_pins[0] && out == "$ERR,BAD_CRC,*B4B7\n", "a bad CRC is answered and ignored");
  wire += out;
  send(board, "$RELAY,0,OPEN,18*C041\n", 40);
  out = drain(board);
  check(!g_relay_pins[0] && out == "$ACK,0,OPEN,18*9A5F\n", "RELAY OPEN opens and is ACKed");
  wire += out;
  send(board, "$RELAY,5,CLOSE,19*", 50);
  char tail[16];
  std::snprintf(tail, sizeof tail, "%04X\n", crc16(reinterpret_cast<const uint8_t*>(
                                                       "RELAY,5,CLOSE,19"), 16));
  send(board, tail, 50);
  out = drain(board);
  check(out == "$ERR,BAD_CHANNEL,relay 5 seq 19*BC9A\n", "a relay the board lacks: BAD_CHANNEL");
  wire += out;
  send(board, "$PING,2*", 60);
  std::snprintf(tail, sizeof tail, "%04X\n",
                crc16(reinterpret_cast<const uint8_t*>("PING,2"), 6));
  send(board, tail, 60);
  out = drain(board);
  check(out.find("$HELLO,") == 0 &&
            out.find("$ERR,VERSION,host v2 device v1*35CA\n") != std::string::npos,
        "a PING of another version gets HELLO then ERR VERSION");
  wire += out;
  send(board, "$RELAY,0,SHUT,20*", 70);
  std::snprintf(tail, sizeof tail, "%04X\n",
                crc16(reinterpret_cast<const uint8_t*>("RELAY,0,SHUT,20"), 15));
  send(board, tail, 70);
  out = drain(board);
  check(out.find("$ERR,MALFORMED,action*") == 0, "a malformed command names the field");
  wire += out;
  send(board, "$HB,5*", 75);
  std::snprintf(tail, sizeof tail, "%04X\n", crc16(reinterpret_cast<const uint8_t*>("HB,5"), 4));
  send(board, tail, 75);
  out = drain(board);
  check(out.find("$ERR,UNKNOWN_TYPE,HB*") == 0, "a board frame sent to the board is not obeyed");
  wire += out;

  board.tick(999);
  check(drain(board).empty(), "no heartbeat before a second has passed");
  board.tick(1000);
  out = drain(board);
  check(out == encode_frame([] {
          Frame f{};
          f.type = FrameType::kHeartbeat;
          f.heartbeat.uptime_ms = 1000;
          return f;
        }()),
        "a heartbeat every second");
  wire += out;

  // a measurement of a real synthetic sine, and a card read from RDM6300 bytes
  const double amps_per_count = 10.0 * std::sqrt(2.0) / 800.0;
  MainsMeter meter(meter_config(true, amps_per_count));
  MainsSynth synth(50.0, 230.0, 10.0, amps_per_count, 30.0);
  Run run = run_meter(meter, synth, 5.0);
  board.send_measurement(0, run.last, run.wh_milli);
  board.send_measurement(0, run.last, run.wh_milli);
  Rdm6300Decoder rdm;
  CardPresence presence(1000);
  std::string rdm_bytes = "\x02" "1A2B3C4D5E" "00" "\x03";
  uint8_t check_byte = 0x1A ^ 0x2B ^ 0x3C ^ 0x4D ^ 0x5E;
  char hex[3];
  std::snprintf(hex, sizeof hex, "%02X", check_byte);
  rdm_bytes.replace(11, 2, hex);
  int cards = 0;
  for (uint32_t t = 2000; t < 3000; t += 100) {  // the reader repeats while the card lies there
    for (unsigned char c : rdm_bytes) {
      if (rdm.feed(c) && presence.seen(rdm.uid(), t)) {
        board.send_card(1, rdm.uid());
        ++cards;
      }
    }
  }
  check(cards == 1, "a card held to the reader is sent once per presentation");
  out = drain(board);
  check(out.find("$M,0,0,") == 0 && out.find("$M,0,1,") != std::string::npos &&
            out.find("$CARD,1,1A2B3C4D5E*ACD8\n") != std::string::npos,
        "measurements count seq up; the card goes out as the protocol document shows");
  wire += out;
  return wire;
}

void test_host_silence_guard_when_enabled() {
  for (bool& pin : g_relay_pins) pin = false;
  Board board(BoardOptions{"t", 1, 5000}, drive_relay);
  board.begin(0);
  send(board, "$RELAY,0,CLOSE,17*1872\n", 100);
  board.tick(5099);
  check(g_relay_pins[0], "the relay stays closed while the host spoke recently");
  board.tick(5100);
  std::string out = drain(board);
  check(!g_relay_pins[0] && out.find("$ERR,HOST_SILENT,relays opened*") != std::string::npos,
        "with the guard enabled a silent host opens every relay, once, and says so");
  Board quiet(BoardOptions{"t", 1, 0}, drive_relay);
  quiet.begin(0);
  send(quiet, "$RELAY,0,CLOSE,17*1872\n", 100);
  quiet.tick(4000000000u);
  check(g_relay_pins[0], "with the guard off (the default) relays stay as they are");
}

void test_rfid_frames() {
  Rdm6300Decoder rdm;
  std::string bad = "\x02" "1A2B3C4D5E" "FF" "\x03";
  bool got = false;
  for (unsigned char c : bad) got = rdm.feed(c) || got;
  check(!got && rdm.bad_frames() == 1, "an RDM6300 frame with a bad checksum is dropped");
  CardPresence presence(1000);
  check(presence.seen("AB", 0) && !presence.seen("AB", 500) && !presence.seen("AB", 1400),
        "a card lying on the reader counts once");
  check(presence.seen("AB", 2500), "the same card counts again after it was away");
  check(presence.seen("CD", 2600), "another card counts at once");
  char hex[33];
  const uint8_t uid[] = {0x04, 0xa1, 0xff};
  check(uid_to_hex(uid, 3, hex, sizeof hex) && std::string(hex) == "04A1FF",
        "an RC522 uid is written in upper-case hex");
}

void test_tx_queue_drops_whole_lines() {
  TxQueue<16> queue;
  check(queue.push("0123456789", 10) && !queue.push("abcdefgh", 8) && queue.dropped_lines() == 1,
        "a line that does not fit is dropped whole");
  uint8_t out[16];
  check(queue.take(out, 4) == 4 && queue.push("abcdefgh", 8) && queue.pending() == 14,
        "taking bytes makes room");
  size_t n = queue.take(out, sizeof out);
  check(n == 14 && std::string(reinterpret_cast<char*>(out), n) == "456789abcdefgh",
        "bytes come out in order across the wrap");
}

std::string measurement_expectation() {
  const double watts = 230.0 * 10.0 * std::cos(30.0 * kPi / 180.0);
  return "{\"irms\": 10.0, \"vrms\": 230.0, \"watts\": " + show(watts) + ", \"cycles\": 50}";
}

bool read_file(const char* path, std::string& text) {
  FILE* file = std::fopen(path, "rb");
  if (file == nullptr) return false;
  char chunk[4096];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) text.append(chunk, n);
  std::fclose(file);
  return true;
}

bool write_file(const char* path, const std::string& text) {
  FILE* file = std::fopen(path, "wb");
  if (file == nullptr) return false;
  bool ok = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  return std::fclose(file) == 0 && ok;
}

std::string join(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ",\n  " : "\n  ") + items[i];
  return out + "\n ]";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && !(argc == 4 && std::strcmp(argv[2], "--emit") == 0)) {
    std::fprintf(stderr, "usage: %s VECTORS.json [--emit RESULTS.json]\n", argv[0]);
    return 2;
  }
  std::string source;
  if (!read_file(argv[1], source)) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  Emitted emitted;
  std::string wire;
  try {
    Value doc = json_lite::Reader(source).document();
    test_crc_check_value();
    test_encoder_refuses_a_buffer_too_small();
    test_parser_recovers_frames_among_garbage();
    test_error_detail_for_a_rejected_host_line();
    check_vectors(doc, emitted);
    test_rms_of_a_sine_with_offset_and_noise();
    test_real_power_and_energy_for_a_known_phase_shift();
    test_fixed_cycle_count_without_a_voltage_reference();
    test_windows_keep_coming_when_the_voltage_disappears();
    test_energy_counter_is_exact_over_a_long_run();
    wire = board_session();
    test_host_silence_guard_when_enabled();
    test_rfid_frames();
    test_tx_queue_drops_whole_lines();
  } catch (const std::exception& err) {
    std::fprintf(stderr, "FAIL: %s\n", err.what());
    return 1;
  }
  if (argc == 4) {
    std::string results = "{\n \"encoded\": " + join(emitted.encoded) +
                          ",\n \"decoded\": " + join(emitted.decoded) +
                          ",\n \"unencodable\": " + join(emitted.unencodable) +
                          ",\n \"streams\": " + join(emitted.streams) +
                          ",\n \"board_session\": " + json_lite::quote(wire) +
                          ",\n \"measurement_expected\": " + measurement_expectation() + "\n}\n";
    if (!write_file(argv[3], results)) {
      std::fprintf(stderr, "cannot write %s\n", argv[3]);
      return 2;
    }
  }
  std::printf("%d checks, %d failed\n", g_checks, g_failures);
  return g_failures > 100 ? 100 : g_failures;
}
