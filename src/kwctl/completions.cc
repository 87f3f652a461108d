#include "kwctl/completions.h"

#include <fmt/format.h>

#include <iostream>
#include <vector>

#include "kwctl/commands.h"

namespace kw::kwctl {
namespace {

// One node of the command tree: its path ("kwctl scaffold manifest"), its flags and children.
struct Node {
  std::string path;
  std::string name;
  std::string description;
  std::vector<std::string> flags;                               // "--long" and "-s"
  std::vector<std::pair<std::string, std::string>> long_flags;  // (name, description)
  std::vector<std::pair<char, std::string>> short_flags;
  std::vector<std::string> children;
};

void collect(CLI::App* app, const std::string& path, std::vector<Node>& out) {
  Node node;
  node.path = path;
  node.name = app->get_name();
  node.description = app->get_description();
  for (const CLI::Option* o : app->get_options()) {
    if (o->get_positional()) continue;
    for (const auto& l : o->get_lnames()) {
      node.flags.push_back("--" + l);
      node.long_flags.emplace_back(l, o->get_description());
    }
    for (const auto& s : o->get_snames()) {
      node.flags.push_back("-" + s);
      if (!s.empty()) node.short_flags.emplace_back(s[0], o->get_description());
    }
  }
  std::vector<CLI::App*> subs = app->get_subcommands([](CLI::App*) { return true; });
  for (CLI::App* sub : subs) node.children.push_back(sub->get_name());
  out.push_back(node);
  for (CLI::App* sub : subs) collect(sub, path + " " + sub->get_name(), out);
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : " ") + s;
  return out;
}

std::string singleQuoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Walks the words typed so far, entering a child command when one is named.
std::string pathCases(const std::vector<Node>& nodes) {
  std::string cases;
  for (const auto& n : nodes) {
    for (const auto& c : n.children)
      cases += fmt::format("      \"{} {}\") cmdpath=\"$cmdpath {}\" ;;\n", n.path, c, c);
  }
  return cases;
}

std::string bash(const std::vector<Node>& nodes) {
  std::string words;
  for (const auto& n : nodes) {
    std::vector<std::string> all = n.children;
    all.insert(all.end(), n.flags.begin(), n.flags.end());
    words += fmt::format("    \"{}\") opts={} ;;\n", n.path, singleQuoted(join(all)));
  }
  return fmt::format(
      "# bash completion for kwctl\n"
      "_kwctl() {{\n"
      "  local cur cmdpath opts i\n"
      "  cur=\"${{COMP_WORDS[COMP_CWORD]}}\"\n"
      "  cmdpath=\"kwctl\"\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case \"$cmdpath ${{COMP_WORDS[i]}}\" in\n{}"
      "    esac\n"
      "  done\n"
      "  case \"$cmdpath\" in\n{}"
      "  esac\n"
      "  COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
      "}}\n"
      "complete -o default -F _kwctl kwctl\n",
      pathCases(nodes), words);
}

std::string zsh(const std::vector<Node>& nodes) {
  std::string words;
  for (const auto& n : nodes) {
    std::vector<std::string> all = n.children;
    all.insert(all.end(), n.flags.begin(), n.flags.end());
    words += fmt::format("    (\"{}\") opts=({}) ;;\n", n.path, join(all));
  }
  std::string cases;
  for (const auto& n : nodes) {
    for (const auto& c : n.children)
      cases += fmt::format("      (\"{} {}\") cmdpath=\"$cmdpath {}\" ;;\n", n.path, c, c);
  }
  return fmt::format(
      "#compdef kwctl\n"
      "# zsh completion for kwctl\n"
      "_kwctl() {{\n"
      "  local cmdpath=\"kwctl\" i\n"
      "  local -a opts\n"
      "  for ((i = 2; i < CURRENT; i++)); do\n"
      "    case \"$cmdpath ${{words[i]}}\" in\n{}"
      "    esac\n"
      "  done\n"
      "  case \"$cmdpath\" in\n{}"
      "  esac\n"
      "  compadd -- $opts\n"
      "  _files\n"
      "}}\n"
      "compdef _kwctl kwctl\n",
      cases, words);
}

std::string fish(const std::vector<Node>& nodes) {
  std::string out = "# fish completion for kwctl\ncomplete -c kwctl -f\n";
  for (const auto& n : nodes) {
    // The root's children need "no subcommand yet"; deeper ones their parent's name.
    std::string cond =
        n.path == "kwctl" ? "__fish_use_subcommand" : "__fish_seen_subcommand_from " + n.name;
    for (const auto& c : n.children) {
      std::string desc;
      for (const auto& m : nodes) {
        if (m.path == n.path + " " + c) desc = m.description;
      }
      out += fmt::format("complete -c kwctl -n {} -a {} -d {}\n", singleQuoted(cond), c,
                         singleQuoted(desc));
    }
    std::string flag_cond = n.path == "kwctl" ? "true" : "__fish_seen_subcommand_from " + n.name;
    for (const auto& [l, d] : n.long_flags) {
      out += fmt::format("complete -c kwctl -n {} -l {} -d {}\n", singleQuoted(flag_cond), l,
                         singleQuoted(d));
    }
    for (const auto& [s, d] : n.short_flags) {
      out += fmt::format("complete -c kwctl -n {} -s {} -d {}\n", singleQuoted(flag_cond), s,
                         singleQuoted(d));
    }
  }
  return out;
}

}  // namespace

Result<std::string> completionScript(CLI::App& app, const std::string& shell) {
  std::vector<Node> nodes;
  collect(&app, "kwctl", nodes);
  if (shell == "bash") return bash(nodes);
  if (shell == "zsh") return zsh(nodes);
  if (shell == "fish") return fish(nodes);
  return makeError(fmt::format("unsupported shell '{}': use bash, zsh or fish", shell));
}

void addCompletionsCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand("completions", "Generate shell completions");
  auto shell = std::make_shared<std::string>();
  cmd->add_option("-s,--shell", *shell, "Shell type: bash, zsh or fish")
      ->required()
      ->check(CLI::IsMember({"bash", "zsh", "fish"}));
  cmd->callback([&app, shell, &exit_code] {
    auto script = completionScript(app, *shell);
    if (!script) {
      exit_code = fail(script.error().message);
      return;
    }
    std::cout << *script;
    exit_code = 0;
  });
}

}  // namespace kw::kwctl
