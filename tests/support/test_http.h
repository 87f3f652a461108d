// The tests' own HTTP(S) exchanges go through kw::net::HttpClient, the client of the code under
// test, rather than libcurl by hand: one request shape trusting PEM files (like curl's --cacert,
// --cert and --key) and the "is it up?" probe.
#pragma once

#include <filesystem>
#include <string>

#include "net/http_client.h"

namespace kw::test {

// Performs `request` trusting only the CA certificates of the PEM file `ca` (empty: the system's
// roots) and presenting the client certificate `cert` with its key `key` when `cert` is given.
// A file that cannot be read fails the exchange (Failure::kOther) with an error naming it.
net::Response performTrusting(net::Request request, const std::filesystem::path& ca,
                              const std::filesystem::path& cert = {},
                              const std::filesystem::path& key = {});

// GETs `url`, accepting any certificate, within `timeout_ms`: the status, 0 when nothing
// answered. For readiness checks, which ask whether something is up, not who it is.
long probeStatus(const std::string& url, long timeout_ms);

}  // namespace kw::test
