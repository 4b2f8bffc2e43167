#include "importer/cli/completion.h"

#include <algorithm>
#include <sstream>

namespace ppa {
namespace {

std::vector<std::string> Split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

// A word that needs no quoting in either shell: a choice or a command name.
bool IsPlainWord(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '/';
  });
}

// "a|b|c" or "{a,b,c}" as its words, or nothing when it is not such a list
// of plain words (TEXT, "INT in [1 - 64]").
std::vector<std::string> ChoiceList(std::string_view text) {
  std::vector<std::string> words;
  if (text.size() > 2 && text.front() == '{' && text.back() == '}') {
    words = Split(text.substr(1, text.size() - 2), ',');
  } else if (text.find('|') != std::string_view::npos) {
    words = Split(text, '|');
  } else {
    return {};
  }
  for (const std::string& word : words) {  // choices are lowercase; FILE, N are placeholders
    if (!IsPlainWord(word) ||
        std::any_of(word.begin(), word.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
      return {};
    }
  }
  return words;
}

// The first line of a help text, its white space runs made single spaces.
std::string OneLine(std::string_view text) {
  std::string line(text.substr(0, text.find('\n')));
  std::string out;
  for (char c : line) {
    if (c == '\t' || c == '\r') c = ' ';
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

CompletionOption DescribeOption(const CLI::Option& opt, const CompletionHints& hints) {
  CompletionOption out;
  for (const std::string& name : opt.get_snames()) out.names.push_back("-" + name);
  for (const std::string& name : opt.get_lnames()) out.names.push_back("--" + name);
  out.description = OneLine(opt.get_description());
  if (opt.get_items_expected_max() == 0) return out;  // a flag
  out.value = ValueFromTypeName(opt.get_type_name());
  if (out.value.kind == CompletionValue::kText) {
    for (const std::string& name : opt.get_lnames()) {
      auto hint = hints.find("--" + name);
      if (hint != hints.end()) out.value = {.kind = hint->second, .choices = {}};
    }
  }
  out.repeatable = opt.get_items_expected_max() > 1;
  return out;
}

bool SharesAName(const CompletionOption& a, const std::vector<CompletionOption>& options) {
  return std::any_of(options.begin(), options.end(), [&](const CompletionOption& b) {
    return std::any_of(a.names.begin(), a.names.end(), [&](const std::string& name) {
      return std::find(b.names.begin(), b.names.end(), name) != b.names.end();
    });
  });
}

// POSIX shell single quotes around `text`.
std::string Quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string Join(const std::vector<std::string>& words, std::string_view separator) {
  std::string out;
  for (const std::string& word : words) {
    if (!out.empty()) out += separator;
    out += word;
  }
  return out;
}

// ---- bash ----

// The word the bash script uses for a value: "" for a flag, else text,
// file, dir or "words:a b c".
std::string BashValueWord(const ValueCompletion& value) {
  switch (value.kind) {
    case CompletionValue::kNone:
      return "";
    case CompletionValue::kText:
      return "text";
    case CompletionValue::kFile:
      return "file";
    case CompletionValue::kDirectory:
      return "dir";
    case CompletionValue::kChoice:
      return "words:" + Join(value.choices, " ");
  }
  return "text";
}

// A bash function name from the program's name (ppa-import: _ppa_import).
std::string BashFunction(const std::string& program) {
  std::string name = "_";
  for (char c : program) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    name += alnum ? c : '_';
  }
  return name;
}

// `case "$1 $2" in` arms: every valued option of the program and of each command.
void WriteBashOptionValues(const CompletionSpec& spec, std::ostream& out) {
  auto arms = [&](const std::string& command, const std::vector<CompletionOption>& options) {
    for (const CompletionOption& opt : options) {
      const std::string word = BashValueWord(opt.value);
      if (word.empty()) continue;
      std::vector<std::string> patterns;
      for (const std::string& name : opt.names) patterns.push_back(Quote(command + " " + name));
      out << "    " << Join(patterns, "|") << ") REPLY=" << Quote(word) << " ;;\n";
    }
  };
  arms("", spec.options);
  for (const CompletionCommand& cmd : spec.commands) arms(cmd.name, cmd.options);
}

std::vector<std::string> AllNames(const std::vector<CompletionOption>& options) {
  std::vector<std::string> names;
  for (const CompletionOption& opt : options) {
    names.insert(names.end(), opt.names.begin(), opt.names.end());
  }
  return names;
}

// ---- zsh ----

// Text inside an _arguments [description] or a _describe item, before the
// shell's single quotes: brackets, colons and backslashes escaped.
std::string ZshEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '[' || c == ']' || c == ':') out += '\\';
    out += c;
  }
  return out;
}

// The ":message:action" part of a spec that takes a value.
std::string ZshAction(const ValueCompletion& value, std::string_view message) {
  std::string m = ZshEscape(message);
  switch (value.kind) {
    case CompletionValue::kNone:
      return "";
    case CompletionValue::kText:
      return ":" + m + ": ";
    case CompletionValue::kFile:
      return ":" + m + ":_files";
    case CompletionValue::kDirectory:
      return ":" + m + ":_files -/";
    case CompletionValue::kChoice:
      return ":" + m + ":(" + Join(value.choices, " ") + ")";
  }
  return ":" + m + ": ";
}

// One _arguments spec per name of each option; aliases exclude each other
// unless the option is repeatable. --help and --version exclude everything.
void WriteZshOptionSpecs(const std::vector<CompletionOption>& options, std::string_view indent,
                         std::ostream& out) {
  for (const CompletionOption& opt : options) {
    const bool alone =
        std::find(opt.names.begin(), opt.names.end(), "--help") != opt.names.end() ||
        std::find(opt.names.begin(), opt.names.end(), "--version") != opt.names.end();
    std::string prefix;
    if (alone) {
      prefix = "(- : *)";
    } else if (opt.repeatable) {
      prefix = "*";
    } else if (opt.names.size() > 1) {
      prefix = "(" + Join(opt.names, " ") + ")";
    }
    std::string message = opt.names.back();
    message.erase(0, message.find_first_not_of('-'));
    for (const std::string& name : opt.names) {
      const bool takes_value = opt.value.kind != CompletionValue::kNone;
      const bool is_long = name.rfind("--", 0) == 0;
      std::string spec = prefix + name + (takes_value ? (is_long ? "=" : "+") : "") + "[" +
                         ZshEscape(opt.description) + "]" + ZshAction(opt.value, message);
      out << indent << Quote(spec) << " \\\n";
    }
  }
}

}  // namespace

ValueCompletion ValueFromTypeName(std::string_view full_type_name) {
  const std::vector<std::string> parts = Split(full_type_name, ':');
  for (const std::string& part : parts) {
    // "FILE|-": a path, or a word the program gives a meaning.
    for (const std::string& alternative : Split(part, '|')) {
      if (alternative == "FILE" || alternative == "PATH" || alternative == "PATH(existing)") {
        return {.kind = CompletionValue::kFile, .choices = {}};
      }
      if (alternative == "DIR") return {.kind = CompletionValue::kDirectory, .choices = {}};
    }
    std::vector<std::string> choices = ChoiceList(part);
    if (!choices.empty()) return {.kind = CompletionValue::kChoice, .choices = std::move(choices)};
  }
  return {.kind = CompletionValue::kText, .choices = {}};
}

CompletionSpec DescribeForCompletion(const CLI::App& app, const CompletionHints& hints) {
  CompletionSpec spec{.program = app.get_name(), .options = {}, .commands = {}};
  std::vector<CompletionOption> following;  // the program's options that may follow a command
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty() || !opt->nonpositional()) continue;
    spec.options.push_back(DescribeOption(*opt, hints));
    if (app.get_fallthrough() && opt != app.get_help_ptr() && opt != app.get_version_ptr()) {
      following.push_back(spec.options.back());
    }
  }
  const auto subcommands =
      app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
  std::vector<std::string> command_names;
  for (const CLI::App* sub : subcommands) command_names.push_back(sub->get_name());
  for (const CLI::App* sub : subcommands) {
    CompletionCommand cmd{.name = sub->get_name(),
                          .description = OneLine(sub->get_description()),
                          .options = {},
                          .positional_name = "",
                          .positional = {},
                          .positional_repeats = false};
    for (const CLI::Option* opt : sub->get_options()) {
      if (opt->get_group().empty()) continue;
      if (opt->nonpositional()) {
        cmd.options.push_back(DescribeOption(*opt, hints));
      } else if (cmd.positional_name.empty()) {
        cmd.positional_name = opt->get_name();
        cmd.positional = ValueFromTypeName(opt->get_type_name());
        if (cmd.positional_name == "COMMAND") {
          cmd.positional = {.kind = CompletionValue::kChoice, .choices = command_names};
        }
        cmd.positional_repeats = opt->get_items_expected_max() > 1;
      }
    }
    for (const CompletionOption& opt : following) {
      if (!SharesAName(opt, cmd.options)) cmd.options.push_back(opt);
    }
    spec.commands.push_back(std::move(cmd));
  }
  return spec;
}

std::string BashCompletionScript(const CompletionSpec& spec) {
  const std::string fn = BashFunction(spec.program);
  std::vector<std::string> command_names;
  for (const CompletionCommand& cmd : spec.commands) command_names.push_back(cmd.name);
  std::ostringstream out;
  out << "# bash completion for " << spec.program << "; generated by `" << spec.program
      << " completion bash`.\n"
      << "# Load it with: source <(" << spec.program << " completion bash)\n\n"
      << "# REPLY: what follows option $2 of command $1 (\"\" for the program itself):\n"
      << "# \"\" (a flag), text, file, dir or words:LIST.\n"
      << fn << "_option_value() {\n"
      << "  case \"$1 $2\" in\n";
  WriteBashOptionValues(spec, out);
  out << "    *) REPLY= ;;\n"
      << "  esac\n"
      << "}\n\n"
      << "# REPLY: the options of command $1.\n"
      << fn << "_options() {\n"
      << "  case $1 in\n"
      << "    '') REPLY=" << Quote(Join(AllNames(spec.options), " ")) << " ;;\n";
  for (const CompletionCommand& cmd : spec.commands) {
    out << "    " << Quote(cmd.name) << ") REPLY=" << Quote(Join(AllNames(cmd.options), " "))
        << " ;;\n";
  }
  out << "    *) REPLY= ;;\n"
      << "  esac\n"
      << "}\n\n"
      << "# REPLY: what argument number $2 (from 0) of command $1 is, as for options.\n"
      << fn << "_positional() {\n"
      << "  REPLY=\n"
      << "  case $1 in\n";
  for (const CompletionCommand& cmd : spec.commands) {
    if (cmd.positional_name.empty()) continue;
    out << "    " << Quote(cmd.name) << ") ";
    if (!cmd.positional_repeats) out << "(($2 < 1)) && ";
    out << "REPLY=" << Quote(BashValueWord(cmd.positional)) << " ;;\n";
  }
  out << "  esac\n"
      << "}\n\n"
      << "# Sets COMPREPLY for the current word $cur, a value of kind $1.\n"
      << fn << "_value() {\n"
      << "  local IFS=$'\\n'\n"
      << "  case $1 in\n"
      << "    file)\n"
      << "      if declare -F _filedir >/dev/null; then _filedir; else\n"
      << "        compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); fi ;;\n"
      << "    dir)\n"
      << "      if declare -F _filedir >/dev/null; then _filedir -d; else\n"
      << "        compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- \"$cur\")); fi ;;\n"
      // The list splits at spaces inside the command substitution only;
      // its output, one candidate per line, splits at newlines.
      << "    words:*) COMPREPLY=($(IFS=' '; compgen -W \"${1#words:}\" -- \"$cur\")) ;;\n"
      << "    *) COMPREPLY=() ;;  # a free value: nothing to offer\n"
      << "  esac\n"
      << "}\n\n"
      << fn << "() {\n"
      << "  local cur prev words cword split=false\n"
      << "  if declare -F _init_completion >/dev/null; then\n"
      << "    _init_completion -s || return\n"
      << "  else\n"
      << "    COMPREPLY=()\n"
      << "    words=(\"${COMP_WORDS[@]}\") cword=$COMP_CWORD\n"
      << "    cur=${words[cword]} prev=${words[cword - 1]}\n"
      << "  fi\n"
      << "  local cmd= npos=0 i REPLY\n"
      << "  for ((i = 1; i < cword; i++)); do\n"
      << "    case ${words[i]} in\n"
      << "      -*=*) ;;\n"
      << "      -*)\n"
      << "        " << fn << "_option_value \"$cmd\" \"${words[i]}\"\n"
      << "        [[ -n $REPLY ]] && ((i++)) ;;\n"
      << "      *) if [[ -z $cmd ]]; then cmd=${words[i]}; else ((npos++)); fi ;;\n"
      << "    esac\n"
      << "  done\n"
      << "  if [[ $prev == -* ]]; then\n"
      << "    " << fn << "_option_value \"$cmd\" \"$prev\"\n"
      << "    if [[ -n $REPLY ]]; then " << fn << "_value \"$REPLY\"; return; fi\n"
      << "  fi\n"
      << "  if [[ $cur == -* ]]; then\n"
      << "    " << fn << "_options \"$cmd\"\n"
      << "    COMPREPLY=($(compgen -W \"$REPLY\" -- \"$cur\"))\n"
      << "  elif [[ -z $cmd ]]; then\n"
      << "    COMPREPLY=($(compgen -W " << Quote(Join(command_names, " ")) << " -- \"$cur\"))\n"
      << "  else\n"
      << "    " << fn << "_positional \"$cmd\" \"$npos\"\n"
      << "    " << fn << "_value \"$REPLY\"\n"
      << "  fi\n"
      << "}\n\n"
      << "complete -F " << fn << " " << spec.program << "\n";
  return out.str();
}

std::string ZshCompletionScript(const CompletionSpec& spec) {
  const std::string& p = spec.program;
  std::ostringstream out;
  out << "#compdef " << p << "\n"
      << "# zsh completion for " << p << "; generated by `" << p << " completion zsh`.\n"
      << "# Load it from a directory of $fpath, or with: source <(" << p
      << " completion zsh) after compinit\n\n"
      << "_" << p << "() {\n"
      << "  local curcontext=$curcontext state state_descr line ret=1\n"
      << "  typeset -A opt_args\n"
      << "  _arguments -C \\\n";
  WriteZshOptionSpecs(spec.options, "    ", out);
  out << "    ': :->command' \\\n"
      << "    '*:: :->argument' && ret=0\n"
      << "  case $state in\n"
      << "    (command)\n"
      << "      local -a commands=(\n";
  for (const CompletionCommand& cmd : spec.commands) {
    out << "        " << Quote(ZshEscape(cmd.name) + ":" + cmd.description) << "\n";
  }
  out << "      )\n"
      << "      _describe -t commands command commands && ret=0\n"
      << "      ;;\n"
      << "    (argument)\n"
      << "      curcontext=${curcontext%:*:*}:" << p << "-$words[1]:\n"
      << "      case $words[1] in\n";
  for (const CompletionCommand& cmd : spec.commands) {
    out << "        (" << cmd.name << ")\n"
        << "          _arguments \\\n";
    WriteZshOptionSpecs(cmd.options, "            ", out);
    if (!cmd.positional_name.empty()) {
      std::string message = cmd.positional_name;
      std::transform(message.begin(), message.end(), message.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      out << "            "
          << Quote((cmd.positional_repeats ? "*" : "1") + ZshAction(cmd.positional, message))
          << " \\\n";
    }
    out << "            && ret=0\n"
        << "          ;;\n";
  }
  out << "      esac\n"
      << "      ;;\n"
      << "  esac\n"
      << "  return ret\n"
      << "}\n\n"
      << "if [[ $zsh_eval_context[-1] == loadautofunc ]]; then\n"
      << "  _" << p << " \"$@\"\n"
      << "else\n"
      << "  compdef _" << p << " " << p << "\n"
      << "fi\n";
  return out.str();
}

Result<std::string> CompletionScript(const CompletionSpec& spec, std::string_view shell) {
  if (shell == "bash") return BashCompletionScript(spec);
  if (shell == "zsh") return ZshCompletionScript(spec);
  return InvalidInput("no completion for the shell '" + std::string(shell) + "'",
                      "'" + spec.program + " completion' knows bash and zsh");
}

}  // namespace ppa
