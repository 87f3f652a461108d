// The little the SQL store needs from a database: run statements, run a parameterised query and
// read its rows as text. Two drivers: SQLite (the C API) and PostgreSQL (libpq). Parameters are
// written $1, $2, ... in both (SQLite treats them as named parameters, bound by that name).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"

namespace kw::reports {

using SqlValue = std::variant<std::nullptr_t, int64_t, std::string>;
using SqlRow = std::vector<std::optional<std::string>>;  // nullopt: SQL NULL

class SqlDriver {
 public:
  enum class Dialect { kSqlite, kPostgres };
  virtual ~SqlDriver() = default;
  virtual Dialect dialect() const = 0;
  // Statements without parameters or rows (schema, BEGIN, COMMIT); several may be ;-separated.
  virtual Status exec(const std::string& sql) = 0;
  // One statement with parameters; its rows, every value as text.
  virtual Result<std::vector<SqlRow>> query(const std::string& sql,
                                            const std::vector<SqlValue>& params = {}) = 0;
};

// Opens (creating if needed) the SQLite database file `path`, in WAL mode so readers see the
// last committed state while a scan writes.
Result<std::unique_ptr<SqlDriver>> openSqlite(const std::string& path);
// Connects to PostgreSQL: `url` is a libpq URI (postgresql://...) or key=value string.
Result<std::unique_ptr<SqlDriver>> openPostgres(const std::string& url);

}  // namespace kw::reports
