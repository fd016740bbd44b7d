// officina serial protocol v1: the encoder, the field rules and the resynchronising line parser.
#include "protocol.h"

#include <string.h>

namespace officina {
namespace {

constexpr uint8_t kIntegerDigits = 9;  // receivers refuse more
constexpr uint16_t kMaxU16 = 0xFFFF;
constexpr uint32_t kMaxU32 = 0xFFFFFFFFUL;

int64_t power_of_ten(uint8_t exponent) {
  int64_t value = 1;
  while (exponent-- > 0) value *= 10;
  return value;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_printable(uint8_t c) { return c >= 0x20 && c <= 0x7E; }
bool is_hex(char c) { return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }
bool is_firmware_char(char c) {
  return is_digit(c) || is_upper(c) || is_lower(c) || c == '.' || c == '_' || c == '+' || c == '-';
}
bool is_code_char(char c) { return is_digit(c) || is_upper(c) || c == '_'; }
bool is_detail_char(char c) {
  return is_printable(static_cast<uint8_t>(c)) && c != '$' && c != '*' && c != ',';
}
// What a board puts in an ERR detail taken from a host line: the host's emulator uses the same set.
bool is_plain_detail_char(char c) {
  return is_digit(c) || is_upper(c) || is_lower(c) || c == '_' || c == ' ' || c == '.' || c == '-';
}

uint8_t hex_value(char c) {
  if (is_digit(c)) return static_cast<uint8_t>(c - '0');
  if (c >= 'a' && c <= 'f') return static_cast<uint8_t>(c - 'a' + 10);
  return static_cast<uint8_t>(c - 'A' + 10);
}

// Checks a NUL-terminated text field against a character rule and a length range.
bool text_is(const char* text, size_t min_length, size_t max_length, bool (*allowed)(char)) {
  size_t length = 0;
  for (; text[length] != '\0'; ++length) {
    if (length >= max_length || !allowed(text[length])) return false;
  }
  return length >= min_length;
}

bool uid_is_wire_ready(const char* uid) {
  size_t length = 0;
  for (; uid[length] != '\0'; ++length) {
    char c = uid[length];
    if (length >= 32 || !(is_digit(c) || (c >= 'A' && c <= 'F'))) return false;
  }
  return length >= 2 && length % 2 == 0;
}

// Appends to a line buffer; any overflow or bad value makes the whole line fail.
class LineWriter {
 public:
  LineWriter(char* out, size_t cap) : out_(out), cap_(cap), length_(0), ok_(cap >= 2) {
    put('$');
  }

  void put(char c) {
    if (length_ + 1 >= cap_) {
      ok_ = false;
      return;
    }
    out_[length_++] = c;
  }

  void text(const char* text) {
    while (*text != '\0') put(*text++);
  }

  void field(const char* text) {
    put(',');
    this->text(text);
  }

  void fail() { ok_ = false; }

  void unsigned_field(uint64_t value) {
    put(',');
    digits(value);
  }

  // `scaled` is the value times 10^places; written with exactly `places` decimals.
  void decimal_field(int64_t scaled, uint8_t places, bool allow_negative) {
    put(',');
    if (scaled < 0 && !allow_negative) {
      fail();
      return;
    }
    uint64_t magnitude =
        scaled < 0 ? static_cast<uint64_t>(-(scaled + 1)) + 1 : static_cast<uint64_t>(scaled);
    uint64_t unit = static_cast<uint64_t>(power_of_ten(places));
    uint64_t whole = magnitude / unit;
    if (whole >= static_cast<uint64_t>(power_of_ten(kIntegerDigits))) {
      fail();
      return;
    }
    if (scaled < 0) put('-');
    digits(whole);
    if (places == 0) return;
    put('.');
    uint64_t fraction = magnitude % unit;
    for (uint64_t step = unit / 10; step > 0; step /= 10) {
      put(static_cast<char>('0' + (fraction / step) % 10));
    }
  }

  size_t finish() {
    if (!ok_) return fail_line();
    uint16_t crc = crc16(reinterpret_cast<const uint8_t*>(out_ + 1), length_ - 1);
    static const char kHexDigits[] = "0123456789ABCDEF";
    put('*');
    for (int shift = 12; shift >= 0; shift -= 4) put(kHexDigits[(crc >> shift) & 0xF]);
    put('\n');
    if (!ok_ || length_ > kMaxLine) return fail_line();
    out_[length_] = '\0';
    return length_;
  }

 private:
  void digits(uint64_t value) {
    char reversed[20];
    uint8_t count = 0;
    do {
      reversed[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value > 0);
    while (count > 0) put(reversed[--count]);
  }

  size_t fail_line() {
    if (cap_ > 0) out_[0] = '\0';
    return 0;
  }

  char* out_;
  size_t cap_;
  size_t length_;
  bool ok_;
};

// A field of a received payload: a pointer into the line and a length.
struct FieldText {
  const char* text;
  size_t length;

  bool equals(const char* word) const {
    size_t word_length = strlen(word);
    return word_length == length && memcmp(text, word, length) == 0;
  }
};

// Takes a payload's fields in order, naming the field in every rejection.
class FieldReader {
 public:
  FieldReader(const char* payload, size_t length, size_t first_comma, Reject& reject)
      : payload_(payload), length_(length), next_comma_(first_comma), reject_(reject) {}

  bool take(const char* name, FieldText& field) {
    if (next_comma_ >= length_) return malformed(name);
    size_t start = next_comma_ + 1;
    size_t end = start;
    while (end < length_ && payload_[end] != ',') ++end;
    field.text = payload_ + start;
    field.length = end - start;
    next_comma_ = end;  // == length_ when this was the last field
    return true;
  }

  template <typename T>
  bool unsigned_int(const char* name, uint64_t minimum, uint64_t maximum, T& out) {
    FieldText field;
    if (!take(name, field)) return false;
    if (field.length < 1 || field.length > 10) return malformed(name);
    uint64_t value = 0;
    for (size_t i = 0; i < field.length; ++i) {
      if (!is_digit(field.text[i])) return malformed(name);
      value = value * 10 + static_cast<uint64_t>(field.text[i] - '0');
    }
    if (value < minimum || value > maximum) return malformed(name);
    out = static_cast<T>(value);
    return true;
  }

  bool decimal(const char* name, uint8_t places, bool allow_negative, int64_t& scaled) {
    FieldText field;
    return take(name, field) && parse_decimal(name, field, places, allow_negative, scaled);
  }

  // An unsigned decimal, or an empty field for "not measured".
  bool optional_decimal(const char* name, uint8_t places, bool& present, int64_t& scaled) {
    FieldText field;
    if (!take(name, field)) return false;
    present = field.length > 0;
    scaled = 0;
    return !present || parse_decimal(name, field, places, false, scaled);
  }

  bool choice(const char* name, const char* when_true, const char* when_false, bool& value) {
    FieldText field;
    if (!take(name, field)) return false;
    if (field.equals(when_true)) {
      value = true;
    } else if (field.equals(when_false)) {
      value = false;
    } else {
      return malformed(name);
    }
    return true;
  }

  bool text(const char* name, size_t min_length, size_t max_length, bool (*allowed)(char),
            char* out) {
    FieldText field;
    if (!take(name, field)) return false;
    if (field.length < min_length || field.length > max_length) return malformed(name);
    for (size_t i = 0; i < field.length; ++i) {
      if (!allowed(field.text[i])) return malformed(name);
      out[i] = field.text[i];
    }
    out[field.length] = '\0';
    return true;
  }

  bool malformed(const char* name) {
    reject_.kind = RejectKind::kMalformed;
    reject_.field = name;
    return false;
  }

 private:
  // Exactly `-?[0-9]{1,9}(\.[0-9]{1,places})?`; the sign only where allowed; -0 becomes 0.
  bool parse_decimal(const char* name, const FieldText& field, uint8_t places, bool allow_negative,
                     int64_t& scaled) {
    size_t i = 0;
    bool negative = false;
    if (i < field.length && field.text[i] == '-') {
      negative = true;
      ++i;
    }
    int64_t whole = 0;
    size_t whole_digits = 0;
    while (i < field.length && is_digit(field.text[i])) {
      whole = whole * 10 + (field.text[i++] - '0');
      ++whole_digits;
    }
    if (whole_digits < 1 || whole_digits > kIntegerDigits) return malformed(name);
    int64_t fraction = 0;
    size_t fraction_digits = 0;
    if (i < field.length && field.text[i] == '.') {
      ++i;
      while (i < field.length && is_digit(field.text[i])) {
        fraction = fraction * 10 + (field.text[i++] - '0');
        ++fraction_digits;
      }
      if (fraction_digits < 1) return malformed(name);
    }
    if (i != field.length) return malformed(name);
    if ((negative && !allow_negative) || fraction_digits > places) return malformed(name);
    fraction *= power_of_ten(static_cast<uint8_t>(places - fraction_digits));
    scaled = whole * power_of_ten(places) + fraction;
    if (negative) scaled = -scaled;
    return true;
  }

  const char* payload_;
  size_t length_;
  size_t next_comma_;
  Reject& reject_;
};

bool parse_fields(const FieldText& type, FieldReader& r, Frame& frame) {
  if (type.equals("HELLO")) {
    frame.type = FrameType::kHello;
    Hello& f = frame.hello;
    return r.text("firmware", 1, 16, is_firmware_char, f.firmware) &&
           r.unsigned_int("protocol", 1, 255, f.protocol) &&
           r.unsigned_int("channels", 1, kMaxChannel + 1, f.channels);
  }
  if (type.equals("M")) {
    frame.type = FrameType::kMeasurement;
    Measurement& f = frame.measurement;
    return r.unsigned_int("channel", 0, kMaxChannel, f.channel) &&
           r.unsigned_int("seq", 0, kMaxU32, f.seq) && r.decimal("irms", 3, false, f.irms_milli) &&
           r.optional_decimal("vrms", 1, f.has_vrms, f.vrms_deci) &&
           r.decimal("watts", 1, true, f.watts_deci) && r.decimal("wh", 3, false, f.wh_milli) &&
           r.unsigned_int("cycles", 0, kMaxU16, f.cycles);
  }
  if (type.equals("CARD")) {
    frame.type = FrameType::kCard;
    CardRead& f = frame.card;
    if (!(r.unsigned_int("reader", 0, kMaxChannel, f.reader) &&
          r.text("uid", 2, 32, is_hex, f.uid))) {
      return false;
    }
    size_t length = strlen(f.uid);
    if (length % 2 != 0) return r.malformed("uid");
    for (size_t i = 0; i < length; ++i) {
      if (is_lower(f.uid[i])) f.uid[i] = static_cast<char>(f.uid[i] - 'a' + 'A');
    }
    return true;
  }
  if (type.equals("ACK")) {
    frame.type = FrameType::kAck;
    RelayAck& f = frame.ack;
    return r.unsigned_int("channel", 0, kMaxChannel, f.channel) &&
           r.choice("state", "CLOSED", "OPEN", f.closed) &&
           r.unsigned_int("seq", 0, kMaxU16, f.seq);
  }
  if (type.equals("HB")) {
    frame.type = FrameType::kHeartbeat;
    return r.unsigned_int("uptime_ms", 0, kMaxU32, frame.heartbeat.uptime_ms);
  }
  if (type.equals("ERR")) {
    frame.type = FrameType::kError;
    DeviceError& f = frame.error;
    return r.text("code", 1, 16, is_code_char, f.code) &&
           r.text("detail", 0, 48, [](char c) { return is_printable(static_cast<uint8_t>(c)); },
                  f.detail);
  }
  if (type.equals("RELAY")) {
    frame.type = FrameType::kRelay;
    RelayCommand& f = frame.relay;
    return r.unsigned_int("channel", 0, kMaxChannel, f.channel) &&
           r.choice("action", "CLOSE", "OPEN", f.closed) &&
           r.unsigned_int("seq", 0, kMaxU16, f.seq);
  }
  if (type.equals("PING")) {
    frame.type = FrameType::kPing;
    return r.unsigned_int("protocol", 1, 255, frame.ping.protocol);
  }
  return false;
}

bool is_known_type(const FieldText& type) {
  static const char* const kTypes[] = {"HELLO", "M", "CARD", "ACK", "HB", "ERR", "RELAY", "PING"};
  for (const char* known : kTypes) {
    if (type.equals(known)) return true;
  }
  return false;
}

void copy_truncated(char* out, size_t cap, const char* text, size_t length) {
  size_t n = length < cap - 1 ? length : cap - 1;
  memcpy(out, text, n);
  out[n] = '\0';
}

}  // namespace

uint16_t crc16(const uint8_t* data, size_t length) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < length; ++i) {
    crc ^= static_cast<uint16_t>(data[i]) << 8;
    for (uint8_t bit = 0; bit < 8; ++bit) {
      crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                           : static_cast<uint16_t>(crc << 1);
    }
  }
  return crc;
}

size_t encode(const Hello& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("HELLO");
  if (!text_is(frame.firmware, 1, 16, is_firmware_char)) w.fail();
  w.field(frame.firmware);
  if (frame.protocol < 1 || frame.channels < 1 || frame.channels > kMaxChannel + 1) w.fail();
  w.unsigned_field(frame.protocol);
  w.unsigned_field(frame.channels);
  return w.finish();
}

size_t encode(const Measurement& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("M");
  if (frame.channel > kMaxChannel) w.fail();
  w.unsigned_field(frame.channel);
  w.unsigned_field(frame.seq);
  w.decimal_field(frame.irms_milli, 3, false);
  if (frame.has_vrms) {
    w.decimal_field(frame.vrms_deci, 1, false);
  } else {
    w.put(',');
  }
  w.decimal_field(frame.watts_deci, 1, true);
  w.decimal_field(frame.wh_milli, 3, false);
  w.unsigned_field(frame.cycles);
  return w.finish();
}

size_t encode(const CardRead& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("CARD");
  if (frame.reader > kMaxChannel || !uid_is_wire_ready(frame.uid)) w.fail();
  w.unsigned_field(frame.reader);
  w.field(frame.uid);
  return w.finish();
}

size_t encode(const RelayAck& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("ACK");
  if (frame.channel > kMaxChannel) w.fail();
  w.unsigned_field(frame.channel);
  w.field(frame.closed ? "CLOSED" : "OPEN");
  w.unsigned_field(frame.seq);
  return w.finish();
}

size_t encode(const Heartbeat& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("HB");
  w.unsigned_field(frame.uptime_ms);
  return w.finish();
}

size_t encode(const DeviceError& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("ERR");
  if (!text_is(frame.code, 1, 16, is_code_char) || !text_is(frame.detail, 0, 48, is_detail_char)) {
    w.fail();
  }
  w.field(frame.code);
  w.field(frame.detail);
  return w.finish();
}

size_t encode(const RelayCommand& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("RELAY");
  if (frame.channel > kMaxChannel) w.fail();
  w.unsigned_field(frame.channel);
  w.field(frame.closed ? "CLOSE" : "OPEN");
  w.unsigned_field(frame.seq);
  return w.finish();
}

size_t encode(const Ping& frame, char* out, size_t cap) {
  LineWriter w(out, cap);
  w.text("PING");
  if (frame.protocol < 1) w.fail();
  w.unsigned_field(frame.protocol);
  return w.finish();
}

size_t encode(const Frame& frame, char* out, size_t cap) {
  switch (frame.type) {
    case FrameType::kHello: return encode(frame.hello, out, cap);
    case FrameType::kMeasurement: return encode(frame.measurement, out, cap);
    case FrameType::kCard: return encode(frame.card, out, cap);
    case FrameType::kAck: return encode(frame.ack, out, cap);
    case FrameType::kHeartbeat: return encode(frame.heartbeat, out, cap);
    case FrameType::kError: return encode(frame.error, out, cap);
    case FrameType::kRelay: return encode(frame.relay, out, cap);
    case FrameType::kPing: return encode(frame.ping, out, cap);
  }
  return 0;
}

const char* frame_type_name(FrameType type) {
  switch (type) {
    case FrameType::kHello: return "HELLO";
    case FrameType::kMeasurement: return "M";
    case FrameType::kCard: return "CARD";
    case FrameType::kAck: return "ACK";
    case FrameType::kHeartbeat: return "HB";
    case FrameType::kError: return "ERR";
    case FrameType::kRelay: return "RELAY";
    case FrameType::kPing: return "PING";
  }
  return "";
}

const char* reject_name(RejectKind kind) {
  switch (kind) {
    case RejectKind::kBadCrc: return "bad_crc";
    case RejectKind::kMalformed: return "malformed";
    case RejectKind::kUnknownType: return "unknown_type";
    case RejectKind::kOverlong: return "overlong";
  }
  return "malformed";
}

const char* error_code(RejectKind kind) {
  switch (kind) {
    case RejectKind::kBadCrc: return "BAD_CRC";
    case RejectKind::kMalformed: return "MALFORMED";
    case RejectKind::kUnknownType: return "UNKNOWN_TYPE";
    case RejectKind::kOverlong: return "OVERLONG";
  }
  return "MALFORMED";
}

DeviceError error_for(const Reject& reject) {
  DeviceError error;
  memset(&error, 0, sizeof error);
  copy_truncated(error.code, sizeof error.code, error_code(reject.kind),
                 strlen(error_code(reject.kind)));
  const char* detail = reject.field != nullptr ? reject.field : reject.frame_type;
  size_t i = 0;
  for (; detail[i] != '\0' && i < sizeof error.detail - 1; ++i) {
    error.detail[i] = is_plain_detail_char(detail[i]) ? detail[i] : '_';
  }
  error.detail[i] = '\0';
  return error;
}

bool decode_body(const char* body, size_t length, Frame& frame, Reject& reject) {
  memset(&frame, 0, sizeof frame);
  reject.field = nullptr;
  reject.frame_type[0] = '\0';
  if (length > kMaxBody) {
    reject.kind = RejectKind::kOverlong;
    return false;
  }
  if (length > 0 && body[length - 1] == '\r') --length;
  size_t star = length;
  for (size_t i = length; i > 0; --i) {
    if (body[i - 1] == '*') {
      star = i - 1;
      break;
    }
  }
  reject.kind = RejectKind::kMalformed;
  reject.field = "checksum";
  if (star == length || length - star - 1 != 4) return false;
  uint16_t sent = 0;
  for (size_t i = star + 1; i < length; ++i) {
    if (!is_hex(body[i])) return false;
    sent = static_cast<uint16_t>((sent << 4) | hex_value(body[i]));
  }
  reject.field = nullptr;
  if (crc16(reinterpret_cast<const uint8_t*>(body), star) != sent) {
    reject.kind = RejectKind::kBadCrc;
    return false;
  }
  for (size_t i = 0; i < star; ++i) {
    if (!is_printable(static_cast<uint8_t>(body[i]))) return false;  // malformed, no field
  }
  size_t comma = 0;
  while (comma < star && body[comma] != ',') ++comma;
  FieldText type{body, comma};
  copy_truncated(reject.frame_type, sizeof reject.frame_type, body, comma);
  if (!is_known_type(type)) {
    reject.kind = RejectKind::kUnknownType;
    return false;
  }
  FieldReader reader(body, star, comma, reject);
  return parse_fields(type, reader, frame);
}

LineParser::LineParser() : length_(0), in_line_(false) {
  memset(&frame_, 0, sizeof frame_);
  memset(&reject_, 0, sizeof reject_);
  memset(&counters_, 0, sizeof counters_);
}

void LineParser::reset() {
  in_line_ = false;
  length_ = 0;
}

void LineParser::count(RejectKind kind) {
  switch (kind) {
    case RejectKind::kBadCrc: ++counters_.bad_crc; break;
    case RejectKind::kMalformed: ++counters_.malformed; break;
    case RejectKind::kUnknownType: ++counters_.unknown_type; break;
    case RejectKind::kOverlong: ++counters_.overlong; break;
  }
}

ParseEvent LineParser::rejected(RejectKind kind, const char* field) {
  reject_.kind = kind;
  reject_.field = field;
  reject_.frame_type[0] = '\0';
  count(kind);
  return ParseEvent::kReject;
}

ParseEvent LineParser::feed(uint8_t byte) {
  if (!in_line_) {
    if (byte == '$') {
      in_line_ = true;
      length_ = 0;
    } else {
      ++counters_.garbage_bytes;
    }
    return ParseEvent::kNone;
  }
  if (byte == '$') {
    length_ = 0;  // the cut line is dropped; this '$' starts the next one
    return rejected(RejectKind::kMalformed, nullptr);
  }
  if (byte == '\n') {
    in_line_ = false;
    if (decode_body(body_, length_, frame_, reject_)) {
      ++counters_.frames;
      return ParseEvent::kFrame;
    }
    count(reject_.kind);
    return ParseEvent::kReject;
  }
  if (length_ >= kMaxBody) {
    in_line_ = false;
    ++counters_.garbage_bytes;  // the rest of an overlong line is noise until the next '$'
    return rejected(RejectKind::kOverlong, nullptr);
  }
  body_[length_++] = static_cast<char>(byte);
  return ParseEvent::kNone;
}

}  // namespace officina
