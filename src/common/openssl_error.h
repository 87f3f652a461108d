// OpenSSL's error queue as text, for messages (the certs and net folders both report it).
#pragma once

#include <string>

namespace kw {

// The oldest queued OpenSSL error as text (and clears the queue); "unknown error" when empty.
std::string lastOpensslError();

}  // namespace kw
