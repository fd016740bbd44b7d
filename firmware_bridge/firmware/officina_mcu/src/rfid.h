// Card readers: the RDM6300's serial frames (125 kHz EM4100) and "once per presentation".
// Plain C++17, no Arduino headers; the RC522 itself is read with the MFRC522 library in the sketch.
#ifndef OFFICINA_RFID_H
#define OFFICINA_RFID_H

#include <stddef.h>
#include <stdint.h>

namespace officina {

// Reads the RDM6300's 9600-baud frames: 0x02, ten hex digits (five bytes: version + tag),
// two hex digits of XOR checksum over those five bytes, 0x03. Anything else resynchronises.
class Rdm6300Decoder {
 public:
  // True when `byte` completed a frame with a good checksum; uid() then holds its ten digits.
  bool feed(uint8_t byte);
  const char* uid() const { return uid_; }
  uint32_t bad_frames() const { return bad_frames_; }

 private:
  char digits_[12] = {};
  uint8_t count_ = 0;
  bool in_frame_ = false;
  char uid_[11] = {};
  uint32_t bad_frames_ = 0;
};

// Readers report a card over and over while it lies on them; this turns that into one CARD per
// presentation: the same card counts again only after it was away for `gone_ms`.
class CardPresence {
 public:
  explicit CardPresence(uint32_t gone_ms) : gone_ms_(gone_ms) {}
  // The reader saw `uid` (upper-case hex) at `now_ms`; true when this is a new presentation.
  bool seen(const char* uid, uint32_t now_ms);

 private:
  uint32_t gone_ms_;
  uint32_t last_seen_ms_ = 0;
  bool present_ = false;
  char uid_[33] = {};
};

// Writes `length` bytes as upper-case hex into `out` (room for 2 * length + 1); false if too long.
bool uid_to_hex(const uint8_t* bytes, size_t length, char* out, size_t cap);

}  // namespace officina

#endif  // OFFICINA_RFID_H
