// SQLite through its C API. Prepared statements are cached by their text: the store runs the
// same few statements many thousand times per scan.
#include <sqlite3.h>

#include <cstdlib>
#include <map>

#include "reports/sql_driver.h"

namespace kw::reports {
namespace {

class SqliteDriver : public SqlDriver {
 public:
  SqliteDriver(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteDriver() override {
    for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }
  Dialect dialect() const override { return Dialect::kSqlite; }

  Status exec(const std::string& sql) override {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string why = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return failure(why, sql);
    }
    return okStatus();
  }

  Result<std::vector<SqlRow>> query(const std::string& sql,
                                    const std::vector<SqlValue>& params) override {
    auto stmt = prepare(sql);
    if (!stmt) return stmt.error();
    sqlite3_stmt* s = *stmt;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    // Each parameter slot is named "$N": bind it to params[N-1] (one pass over the slots).
    int slots = sqlite3_bind_parameter_count(s);
    for (int index = 1; index <= slots; ++index) {
      const char* name = sqlite3_bind_parameter_name(s, index);
      size_t n = name && name[0] == '$' ? std::strtoul(name + 1, nullptr, 10) : 0;
      if (n == 0 || n > params.size())
        return failure("parameter " + std::string(name ? name : "?") + " has no value", sql)
            .error();
      const SqlValue& v = params[n - 1];
      if (auto* i = std::get_if<int64_t>(&v)) {
        sqlite3_bind_int64(s, index, *i);
      } else if (auto* t = std::get_if<std::string>(&v)) {
        sqlite3_bind_text(s, index, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(s, index);
      }
    }
    std::vector<SqlRow> rows;
    for (;;) {
      int rc = sqlite3_step(s);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        std::string why = sqlite3_errmsg(db_);
        sqlite3_reset(s);
        return failure(why, sql).error();
      }
      SqlRow row;
      int n = sqlite3_column_count(s);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(s, c) == SQLITE_NULL) {
          row.emplace_back();
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, c));
          row.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(s, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(s);
    return rows;
  }

 private:
  Result<sqlite3_stmt*> prepare(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK)
      return failure(sqlite3_errmsg(db_), sql).error();
    statements_[sql] = stmt;
    return stmt;
  }

  Status failure(const std::string& why, const std::string& sql) const {
    return makeError("sqlite " + path_ + ": " + why + " (in: " + sql.substr(0, 80) + ")");
  }

  sqlite3* db_;
  std::string path_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace

Result<std::unique_ptr<SqlDriver>> openSqlite(const std::string& path) {
  if (path.empty()) return makeError("the sqlite store needs a database file (--store-path)");
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return makeError("cannot open sqlite database " + path + ": " + why);
  }
  auto driver = std::make_unique<SqliteDriver>(db, path);
  // Another process (a dashboard, a second scan) may hold the lock briefly: wait, do not fail.
  sqlite3_busy_timeout(db, 10000);
  // WAL: readers keep seeing the last committed scan while a new one writes.
  // A scan is one transaction of up to ~100k rows: a 64 MiB page cache keeps it from spilling.
  if (auto s = driver->exec(
          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536");
      !s)
    return s.error();
  return std::unique_ptr<SqlDriver>(std::move(driver));
}

}  // namespace kw::reports
