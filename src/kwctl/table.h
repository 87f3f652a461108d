// Text tables in the style upstream kwctl prints them (prettytable's
// FORMAT_NO_LINESEP_WITH_TITLE): a +---+ rule above and below the title row and at the end.
#pragma once

#include <string>
#include <vector>

namespace kw::kwctl {

using TableRow = std::vector<std::string>;

std::string renderTable(const TableRow& titles, const std::vector<TableRow>& rows);

}  // namespace kw::kwctl
