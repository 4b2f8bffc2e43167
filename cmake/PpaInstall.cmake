# What `cmake --install` puts where (GNU install directories: --prefix /usr
# gives /usr/bin, /usr/share/man/man1, ...). README.md, "Where each file goes".
#   bin/ppa-import
#   share/man/man1/ppa-import.1.gz, ppa-import-COMMAND.1.gz   (help2man, gzip -9n)
#   share/bash-completion/completions/ppa-import
#   share/zsh/vendor-completions/_ppa-import  (prefix /usr; else share/zsh/site-functions)
#   share/doc/ppa-import/README.md, config.example.yaml
# Man pages and completion scripts are made at build time from the built
# binary (`ppa-import COMMAND --help`, `ppa-import completion bash|zsh`), so
# they always describe the program they are installed with;
# tests/install/install_tree_test.sh checks them against it.
include(GNUInstallDirs)

# The project is ppa_import; the files go by the program's name, ppa-import
# (Debian's /usr/share/doc/PACKAGE).
if("$CACHE{CMAKE_INSTALL_DOCDIR}" STREQUAL "")
  set(CMAKE_INSTALL_DOCDIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/ppa-import)
endif()

install(TARGETS ppa-import RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/samples/config.example.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(PPA_INSTALL_FILES_DIR ${PROJECT_BINARY_DIR}/install-files)
# The binary runs at build time; in a sanitizer build (PPA_SANITIZE) that is
# not where leaks are judged (the tests do that), so LeakSanitizer, which
# needs ptrace and fails in some containers, stays off for these runs.
set(PPA_RUN_BUILT_BINARY ${CMAKE_COMMAND} -E env ASAN_OPTIONS=detect_leaks=0)

# --- Completion scripts -------------------------------------------------------
set(PPA_BASH_COMPLETION ${PPA_INSTALL_FILES_DIR}/completion/ppa-import.bash)
set(PPA_ZSH_COMPLETION ${PPA_INSTALL_FILES_DIR}/completion/_ppa-import)
add_custom_command(
  OUTPUT ${PPA_BASH_COMPLETION} ${PPA_ZSH_COMPLETION}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PPA_INSTALL_FILES_DIR}/completion
  COMMAND ${PPA_RUN_BUILT_BINARY} sh -c "\"$1\" completion bash > \"$2\" && \"$1\" completion zsh > \"$3\""
          sh $<TARGET_FILE:ppa-import> ${PPA_BASH_COMPLETION} ${PPA_ZSH_COMPLETION}
  DEPENDS ppa-import
  COMMENT "Generating the bash and zsh completion scripts"
  VERBATIM)
add_custom_target(ppa_completion ALL DEPENDS ${PPA_BASH_COMPLETION} ${PPA_ZSH_COMPLETION})

# bash-completion loads completions/NAME when NAME is first completed.
install(FILES ${PPA_BASH_COMPLETION}
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ppa-import)

# zsh: a directory of the default $fpath, where compinit finds _ppa-import.
# Debian's zsh has /usr/share/zsh/vendor-completions (packages) and
# /usr/local/share/zsh/site-functions (local installs) there, not
# /usr/share/zsh/site-functions; the choice follows the prefix given at
# install time (`cmake --install --prefix`, CPack's /usr). Fedora's zsh reads
# /usr/share/zsh/site-functions: set PPA_ZSH_COMPLETION_DIR there.
set(PPA_ZSH_COMPLETION_DIR "" CACHE STRING
    "Directory of the zsh completion, relative to the install prefix (empty: \
share/zsh/vendor-completions for the prefix /usr, share/zsh/site-functions for any other)")
if(PPA_ZSH_COMPLETION_DIR)
  install(FILES ${PPA_ZSH_COMPLETION} DESTINATION ${PPA_ZSH_COMPLETION_DIR})
else()
  install(CODE "
    if(CMAKE_INSTALL_PREFIX MATCHES \"(^|/)usr/*$\")
      set(ppa_zsh_dir \"${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions\")
    else()
      set(ppa_zsh_dir \"${CMAKE_INSTALL_DATADIR}/zsh/site-functions\")
    endif()
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/\${ppa_zsh_dir}\" TYPE FILE
         FILES \"${PPA_ZSH_COMPLETION}\")")
endif()

# --- Man pages ----------------------------------------------------------------
# ppa-import(1) and ppa-import-COMMAND(1) for every command but `help`, from
# `--help` by help2man, with the sections --help cannot carry from
# man/*.h2m (NAME, EXIT STATUS, ENVIRONMENT, FILES, SEE ALSO).
find_program(HELP2MAN help2man)
if(NOT HELP2MAN)
  message(WARNING "help2man not found: no man pages are built or installed "
                  "(apt-get install help2man; scripts/setup.sh installs it)")
  return()
endif()
set(PPA_MAN_COMMANDS load inspect doctor verify save version completion)
set(PPA_MAN_DIR ${PPA_INSTALL_FILES_DIR}/man)
set(PPA_MAN_PAGES)
foreach(page IN ITEMS ppa-import LISTS PPA_MAN_COMMANDS)
  if(page STREQUAL "ppa-import")
    set(program $<TARGET_FILE:ppa-import>)
    set(includes --include=${PROJECT_SOURCE_DIR}/man/ppa-import.h2m
                 --include=${PROJECT_SOURCE_DIR}/man/environment.h2m)
  else()
    # help2man runs one program with --help: a wrapper named after the page
    # runs `ppa-import COMMAND`.
    set(command ${page})
    set(page ppa-import-${command})
    set(program ${PPA_MAN_DIR}/bin/${page})
    file(GENERATE OUTPUT ${program}
         CONTENT "#!/bin/sh\nexec '$<TARGET_FILE:ppa-import>' ${command} \"$@\"\n"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                          WORLD_READ WORLD_EXECUTE)
    set(includes --include=${PROJECT_SOURCE_DIR}/man/${page}.h2m)
    if(command STREQUAL "load" OR command STREQUAL "doctor" OR command STREQUAL "verify"
       OR command STREQUAL "save")
      list(APPEND includes --include=${PROJECT_SOURCE_DIR}/man/environment.h2m)
    endif()
  endif()
  set(out ${PPA_MAN_DIR}/${page}.1)
  add_custom_command(
    OUTPUT ${out}.gz
    COMMAND ${PPA_RUN_BUILT_BINARY} LC_ALL=C.UTF-8
            ${HELP2MAN} --no-info --section=1 --version-string=${PROJECT_VERSION}
            "--source=ppa-import ${PROJECT_VERSION}" ${includes} --output=${out} ${program}
    # Debian policy 12.1: compressed with gzip -9n (no name, no time stamp).
    COMMAND gzip -9nf ${out}
    DEPENDS ppa-import ${PROJECT_SOURCE_DIR}/man/${page}.h2m
            ${PROJECT_SOURCE_DIR}/man/environment.h2m
    COMMENT "Generating the man page ${page}(1)"
    VERBATIM)
  list(APPEND PPA_MAN_PAGES ${out}.gz)
endforeach()
add_custom_target(ppa_man_pages ALL DEPENDS ${PPA_MAN_PAGES})
install(FILES ${PPA_MAN_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
