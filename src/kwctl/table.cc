#include "kwctl/table.h"

#include <algorithm>

namespace kw::kwctl {
namespace {

// Display width in code points, so a non-ASCII URI does not shift the columns.
size_t width(const std::string& s) {
  return size_t(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string rule(const std::vector<size_t>& widths) {
  std::string out = "+";
  for (size_t w : widths) out += std::string(w + 2, '-') + "+";
  return out + "\n";
}

std::string line(const TableRow& cells, const std::vector<size_t>& widths) {
  std::string out = "|";
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string cell = i < cells.size() ? cells[i] : "";
    out += " " + cell + std::string(widths[i] - width(cell), ' ') + " |";
  }
  return out + "\n";
}

}  // namespace

std::string renderTable(const TableRow& titles, const std::vector<TableRow>& rows) {
  std::vector<size_t> widths(titles.size(), 0);
  for (size_t i = 0; i < titles.size(); ++i) widths[i] = width(titles[i]);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], width(row[i]));
    }
  }
  std::string out = rule(widths) + line(titles, widths) + rule(widths);
  for (const auto& row : rows) out += line(row, widths);
  return out + rule(widths);
}

}  // namespace kw::kwctl
