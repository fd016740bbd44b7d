// RDM6300 frames and card presentations; see rfid.h.
#include "rfid.h"

#include <string.h>

namespace officina {
namespace {

constexpr uint8_t kStx = 0x02;
constexpr uint8_t kEtx = 0x03;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

bool Rdm6300Decoder::feed(uint8_t byte) {
  if (byte == kStx) {
    in_frame_ = true;
    count_ = 0;
    return false;
  }
  if (!in_frame_) return false;
  if (byte != kEtx) {
    if (count_ >= sizeof digits_ || hex_value(static_cast<char>(byte)) < 0) {
      in_frame_ = false;  // not a frame after all: wait for the next STX
      ++bad_frames_;
      return false;
    }
    digits_[count_++] = static_cast<char>(byte);
    return false;
  }
  in_frame_ = false;
  if (count_ != sizeof digits_) {
    ++bad_frames_;
    return false;
  }
  uint8_t check = 0;
  for (uint8_t i = 0; i < 10; i += 2) {
    check ^= static_cast<uint8_t>(hex_value(digits_[i]) * 16 + hex_value(digits_[i + 1]));
  }
  if (check != hex_value(digits_[10]) * 16 + hex_value(digits_[11])) {
    ++bad_frames_;
    return false;
  }
  for (uint8_t i = 0; i < 10; ++i) {
    char c = digits_[i];
    uid_[i] = (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  uid_[10] = '\0';
  return true;
}

bool CardPresence::seen(const char* uid, uint32_t now_ms) {
  // unsigned subtraction keeps working across the millisecond counter's wrap
  bool same_card = present_ && strcmp(uid, uid_) == 0 && now_ms - last_seen_ms_ < gone_ms_;
  last_seen_ms_ = now_ms;
  present_ = true;
  if (same_card) return false;
  strncpy(uid_, uid, sizeof uid_ - 1);
  uid_[sizeof uid_ - 1] = '\0';
  return true;
}

bool uid_to_hex(const uint8_t* bytes, size_t length, char* out, size_t cap) {
  static const char kHexDigits[] = "0123456789ABCDEF";
  if (length == 0 || length > 16 || cap < 2 * length + 1) return false;
  for (size_t i = 0; i < length; ++i) {
    out[2 * i] = kHexDigits[bytes[i] >> 4];
    out[2 * i + 1] = kHexDigits[bytes[i] & 0xF];
  }
  out[2 * length] = '\0';
  return true;
}

}  // namespace officina
