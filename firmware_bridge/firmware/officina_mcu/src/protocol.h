// officina serial protocol v1 (see firmware_bridge/PROTOCOL.md): frames, encoder, line parser.
//
// Plain C++17, no Arduino headers, no heap: the sketch and the host tests build the same code.
// Decimal fields are fixed-point integers (milliamps, decivolts, deciwatts, milliwatt-hours), so
// what goes on the wire is exact and identical on an 8-bit AVR and on the host.
#ifndef OFFICINA_PROTOCOL_H
#define OFFICINA_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

namespace officina {

constexpr uint8_t kProtocolVersion = 1;
constexpr size_t kMaxLine = 128;            // '$' to '\n' inclusive
constexpr size_t kMaxBody = kMaxLine - 2;   // between '$' and '\n', an optional '\r' included
constexpr size_t kLineBuffer = kMaxLine + 1;  // room for the terminating NUL
constexpr uint8_t kMaxChannel = 15;

// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, not reflected, no final xor.
uint16_t crc16(const uint8_t* data, size_t length);

enum class FrameType : uint8_t {
  kHello,
  kMeasurement,
  kCard,
  kAck,
  kHeartbeat,
  kError,
  kRelay,
  kPing,
};

struct Hello {
  char firmware[17];  // 1-16 of [0-9A-Za-z._+-]
  uint8_t protocol;   // 1-255
  uint8_t channels;   // 1-16
};

struct Measurement {
  uint8_t channel;
  uint32_t seq;
  int64_t irms_milli;   // amps x 1000
  bool has_vrms;        // false: no voltage reference, the field is empty
  int64_t vrms_deci;    // volts x 10
  int64_t watts_deci;   // watts x 10, may be negative
  int64_t wh_milli;     // watt-hours x 1000
  uint16_t cycles;
};

struct CardRead {
  uint8_t reader;
  char uid[33];  // upper-case hex, 2-32 digits, an even number
};

struct RelayAck {
  uint8_t channel;
  bool closed;
  uint16_t seq;
};

struct Heartbeat {
  uint32_t uptime_ms;
};

struct DeviceError {
  char code[17];    // 1-16 of [A-Z0-9_]
  char detail[49];  // 0-48 printable, without '$' '*' ','
};

struct RelayCommand {
  uint8_t channel;
  bool closed;
  uint16_t seq;
};

struct Ping {
  uint8_t protocol;
};

// Any frame; `type` says which member is valid.
struct Frame {
  FrameType type;
  union {
    Hello hello;
    Measurement measurement;
    CardRead card;
    RelayAck ack;
    Heartbeat heartbeat;
    DeviceError error;
    RelayCommand relay;
    Ping ping;
  };
};

// Encoders: write the whole line `$TYPE,fields*CRC\n` plus a NUL into `out` (capacity `cap`,
// kLineBuffer is always enough) and return its length without the NUL; 0 when a field is off
// (out of range, not allowed characters, more than 9 integer digits) or `cap` is too small.
size_t encode(const Hello& frame, char* out, size_t cap);
size_t encode(const Measurement& frame, char* out, size_t cap);
size_t encode(const CardRead& frame, char* out, size_t cap);
size_t encode(const RelayAck& frame, char* out, size_t cap);
size_t encode(const Heartbeat& frame, char* out, size_t cap);
size_t encode(const DeviceError& frame, char* out, size_t cap);
size_t encode(const RelayCommand& frame, char* out, size_t cap);
size_t encode(const Ping& frame, char* out, size_t cap);
size_t encode(const Frame& frame, char* out, size_t cap);

// Why a line was not a frame; the names match the host's counters.
enum class RejectKind : uint8_t { kBadCrc, kMalformed, kUnknownType, kOverlong };

struct Reject {
  RejectKind kind;
  const char* field;   // the field at fault ("checksum", "seq", ...) or nullptr
  char frame_type[49];  // the frame type where known (truncated), else empty
};

const char* frame_type_name(FrameType type);  // "HELLO", "M", ...
const char* reject_name(RejectKind kind);  // "bad_crc", "malformed", ...
const char* error_code(RejectKind kind);   // "BAD_CRC", "MALFORMED", ...

// The ERR frame a board sends for a rejected host line.
DeviceError error_for(const Reject& reject);

// Decodes the bytes between '$' and '\n' (an optional trailing '\r' included). Exactly the
// host's rules: CRC first, then printable bytes, then the type, then each field in order;
// trailing extra fields are ignored. Returns true and fills `frame`, or false and fills `reject`.
bool decode_body(const char* body, size_t length, Frame& frame, Reject& reject);

struct ParserCounters {
  uint32_t frames;
  uint32_t bad_crc;
  uint32_t malformed;
  uint32_t unknown_type;
  uint32_t overlong;
  uint32_t garbage_bytes;
};

enum class ParseEvent : uint8_t { kNone, kFrame, kReject };

// Turns a byte stream into frames, one byte at a time, resynchronising on '$': bytes outside a
// frame are garbage, a '$' inside a frame cuts it (malformed), a line that reaches kMaxLine
// without '\n' is overlong and the rest of it is garbage until the next '$'.
class LineParser {
 public:
  LineParser();
  ParseEvent feed(uint8_t byte);
  const Frame& frame() const { return frame_; }      // valid after kFrame
  const Reject& reject() const { return reject_; }   // valid after kReject
  const ParserCounters& counters() const { return counters_; }
  void reset();  // forget a half-received line; counters are kept

 private:
  ParseEvent rejected(RejectKind kind, const char* field);
  void count(RejectKind kind);

  char body_[kMaxBody];
  uint8_t length_;
  bool in_line_;
  Frame frame_;
  Reject reject_;
  ParserCounters counters_;
};

}  // namespace officina

#endif  // OFFICINA_PROTOCOL_H
