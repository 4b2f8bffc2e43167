# Packages built by CPack from the install rules (cmake/PpaInstall.cmake):
# a Debian package (`cpack -G DEB`, the default) and an RPM (`cpack -G RPM`)
# from the same configuration. scripts/package.sh is the one command that
# builds, packages and checks them; run by hand:
#   cpack --config BUILD/CPackConfig.cmake -G DEB -B OUTDIR
# Runtime dependencies are never listed here: dpkg-shlibdeps computes the
# Debian package's Depends from the binary's NEEDED entries, and rpm's own
# dependency generator computes the RPM's Requires.

# --- Copyright and changelog ----------------------------------------------
# CMAKE_INSTALL_DOCDIR is share/doc/ppa-import (cmake/PpaInstall.cmake), the
# folder Debian policy 12.3 names after the package.
# /usr/share/doc/ppa-import/copyright: the project's copyright statement.
# `cmake --install` installs it too (it describes the files wherever they go).
install(FILES ${PROJECT_SOURCE_DIR}/packaging/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

# /usr/share/doc/ppa-import/changelog.Debian.gz (Debian policy 12.7), made
# with gzip -9n (no name or time stamp: the package is reproducible) at
# configure time (the build re-configures when packaging/changelog changes).
# It belongs to the Debian package only: component `debian`, left out of a
# plain `cmake --install` and of the RPM (rpm has its own %changelog), added
# to the DEB's install projects by cmake/PpaCPackProjectConfig.cmake.
set(PPA_DEBIAN_CHANGELOG ${PROJECT_SOURCE_DIR}/packaging/changelog)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PPA_DEBIAN_CHANGELOG})
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/packaging)
execute_process(
  COMMAND gzip -9nc ${PPA_DEBIAN_CHANGELOG}
  OUTPUT_FILE ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
  RESULT_VARIABLE ppa_gzip_result)
if(NOT ppa_gzip_result EQUAL 0)
  message(FATAL_ERROR "gzip -9n of ${PPA_DEBIAN_CHANGELOG} failed: ${ppa_gzip_result}")
endif()
install(FILES ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
        DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT debian EXCLUDE_FROM_ALL)

# The Debian revision is the first entry of packaging/changelog; the upstream
# part must be the project's version (a version bump needs a changelog entry).
file(STRINGS ${PPA_DEBIAN_CHANGELOG} ppa_changelog_head LIMIT_COUNT 1)
if(NOT ppa_changelog_head MATCHES "^ppa-import \\(([^)-]+)-([^)]+)\\)")
  message(FATAL_ERROR "packaging/changelog: the first line is not 'ppa-import (VERSION-REVISION) ...'")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL PROJECT_VERSION)
  message(FATAL_ERROR "packaging/changelog's latest entry is ${CMAKE_MATCH_1}, the project is "
                      "${PROJECT_VERSION}: add an entry for ${PROJECT_VERSION} to packaging/changelog")
endif()
set(PPA_PACKAGE_REVISION ${CMAKE_MATCH_2})

# --- What every generator shares --------------------------------------------
set(CPACK_PACKAGE_NAME ppa-import)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "the ppa-import authors")
# No public address exists yet; set PPA_PACKAGE_MAINTAINER when configuring a
# release build (it must match packaging/changelog's signature line).
set(PPA_PACKAGE_MAINTAINER "ppa-import maintainers <ppa-import-maintainers@example.org>"
    CACHE STRING "Maintainer field of the Debian package: NAME <ADDRESS>")
set(CPACK_PACKAGE_CONTACT ${PPA_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "import IBM Passport Advantage archives into OCI registries")
# Paragraphs separated by an empty line; CPack turns it into the Debian
# extended description (" ." lines) and uses it as the RPM's %description.
set(CPACK_PACKAGE_DESCRIPTION
"ppa-import loads IBM Passport Advantage (PPA) archives, the .tgz bundles of
container images, Helm charts and a manifest, into private container
registries without a Docker daemon. It reads docker save and OCI image
tarballs itself, verifies every layer against its digest and pushes images
and multi-arch manifest lists over the OCI Distribution API; charts go to a
folder, a ChartMuseum or a Helm OCI registry.

It replaces 'ibmcloud cr ppa-archive-load' and 'cloudctl catalog
load-archive', which needed a Docker daemon.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Directories CPack creates are 0755 whatever the umask of the packager.
set(CPACK_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS
    OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
set(CPACK_GENERATOR DEB)
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/PpaCPackProjectConfig.cmake)

# --- Debian -------------------------------------------------------------------
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # ppa-import_VERSION-REVISION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE ${PPA_PACKAGE_REVISION})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Depends: computed by dpkg-shlibdeps from the stripped binary (libc6,
# libcurl4, libarchive13, ...), never hand-listed.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# TLS to registries verifies servers against the system CA bundle
# (/etc/ssl/certs), a data file libcurl opens at run time: no shared-library
# dependency shows it, so dpkg-shlibdeps cannot compute it. Recommends, not
# Depends: plain-HTTP registries and --ca-file work without it. Likewise
# gnupg: --sign-by signs through GPGME, which runs gpg (a program, not a
# library); everything else works without it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "ca-certificates, gnupg")
# md5sums: CPack's DEB generator always writes DEBIAN/md5sums (dpkg --verify).

# --- RPM ----------------------------------------------------------------------
set(CPACK_RPM_FILE_NAME RPM-DEFAULT)  # ppa-import-VERSION-RELEASE.ARCH.rpm
set(CPACK_RPM_PACKAGE_RELEASE ${PPA_PACKAGE_REVISION})
set(CPACK_RPM_PACKAGE_LICENSE "All rights reserved")
set(CPACK_RPM_PACKAGE_GROUP "Applications/System")
# Installed where the binary's paths say (/usr), not relocatable with --prefix.
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
set(CPACK_RPM_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
# Requires: rpm's dependency generator (AutoReq, on by default) reads the
# binary's NEEDED entries; the CA bundle is a weak dependency as above.
# (CMake 3.25's CPackRPM looks for weak-dependency support with an undefined
# RPM_EXECUTABLE and drops the tag: cmake/PpaCPackProjectConfig.cmake sets it.)
set(CPACK_RPM_PACKAGE_SUGGESTS "ca-certificates, gnupg2")
# No /usr/lib/.build-id links: they are for debuginfo packages, which this is
# not, and would make the package own files beside /usr/bin/ppa-import.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
# Directories other packages own (filesystem, bash-completion, zsh): the RPM
# only puts files in them (CPack leaves out /usr, /usr/bin, /usr/share/doc...).
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/share/man
    /usr/share/man/man1
    /usr/share/bash-completion
    /usr/share/bash-completion/completions
    /usr/share/zsh
    /usr/share/zsh/site-functions
    /usr/share/zsh/vendor-completions)

include(CPack)
