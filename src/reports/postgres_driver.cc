// PostgreSQL through libpq: text parameters and text results, one connection.
#include <libpq-fe.h>

#include "reports/sql_driver.h"

namespace kw::reports {
namespace {

void ignoreNotice(void*, const char*) {}  // "relation already exists, skipping" and the like

class PostgresDriver : public SqlDriver {
 public:
  explicit PostgresDriver(PGconn* conn) : conn_(conn) {}
  ~PostgresDriver() override { PQfinish(conn_); }
  Dialect dialect() const override { return Dialect::kPostgres; }

  Status exec(const std::string& sql) override {
    PGresult* res = PQexec(conn_, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    bool ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    std::string why = ok ? "" : PQresultErrorMessage(res);
    PQclear(res);
    if (!ok) return failure(why, sql);
    return okStatus();
  }

  Result<std::vector<SqlRow>> query(const std::string& sql,
                                    const std::vector<SqlValue>& params) override {
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    for (size_t i = 0; i < params.size(); ++i) {
      if (auto* n = std::get_if<int64_t>(&params[i])) {
        text[i] = std::to_string(*n);
        values[i] = text[i].c_str();
      } else if (auto* t = std::get_if<std::string>(&params[i])) {
        values[i] = t->c_str();
      }
    }
    PGresult* res = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string why = PQresultErrorMessage(res);
      PQclear(res);
      return failure(why, sql).error();
    }
    std::vector<SqlRow> rows;
    int n = PQntuples(res), cols = PQnfields(res);
    rows.reserve(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) {
      SqlRow row;
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back();
        } else {
          row.emplace_back(
              std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c))));
        }
      }
      rows.push_back(std::move(row));
    }
    PQclear(res);
    return rows;
  }

 private:
  static Status failure(std::string why, const std::string& sql) {
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return makeError("postgres: " + why + " (in: " + sql.substr(0, 80) + ")");
  }

  PGconn* conn_;
};

}  // namespace

Result<std::unique_ptr<SqlDriver>> openPostgres(const std::string& url) {
  if (url.empty()) return makeError("the postgres store needs a connection URL (--store-url)");
  PGconn* conn = PQconnectdb(url.c_str());
  if (!conn) return makeError("postgres: out of memory while connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return makeError("cannot connect to postgres: " + why);
  }
  PQsetNoticeProcessor(conn, ignoreNotice, nullptr);
  return std::unique_ptr<SqlDriver>(std::make_unique<PostgresDriver>(conn));
}

}  // namespace kw::reports
