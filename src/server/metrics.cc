#include "server/metrics.h"
// Implemented by the transport/metrics work; kept compiling meanwhile.
namespace kw::server {
void Metrics::recordEvaluation(const Labels&, double) {}
std::string Metrics::render() const { return {}; }
}  // namespace kw::server
