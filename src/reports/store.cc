#include "reports/store.h"

#include "reports/kubernetes_store.h"
#include "reports/memory_store.h"
#include "reports/sql_store.h"

namespace kw::reports {

Result<std::unique_ptr<ReportStore>> openStore(const StoreOptions& options,
                                               std::shared_ptr<kube::Client> client) {
  if (options.kind == "memory")
    return std::unique_ptr<ReportStore>(std::make_unique<MemoryStore>());
  if (options.kind == "sqlite") return openSqliteStore(options.path);
  if (options.kind == "postgres") return openPostgresStore(options.url);
  if (options.kind == "kubernetes") {
    if (!client) return makeError("the kubernetes store needs a connection to the API server");
    return std::unique_ptr<ReportStore>(std::make_unique<KubernetesStore>(std::move(client)));
  }
  return makeError("unknown store \"" + options.kind +
                   "\" (expected kubernetes, memory, sqlite or postgres)");
}

}  // namespace kw::reports
