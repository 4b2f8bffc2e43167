# What `cmake --install` puts where (GNU install directories: --prefix /usr
# gives /usr/bin, /usr/share/man/man1, ...).
include(GNUInstallDirs)

install(TARGETS ppa-import RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
