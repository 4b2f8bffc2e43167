# Read by cpack once per generator (CPACK_PROJECT_CONFIG_FILE in
# cmake/PpaPackaging.cmake), with CPACK_GENERATOR naming the one running.
# The Debian package also installs component `debian` (changelog.Debian.gz),
# which a plain `cmake --install` and the RPM leave out.
if(CPACK_GENERATOR STREQUAL "DEB")
  list(GET CPACK_INSTALL_CMAKE_PROJECTS 0 ppa_build_dir)
  list(APPEND CPACK_INSTALL_CMAKE_PROJECTS "${ppa_build_dir}" "ppa_import" "debian" "/")
endif()

# CMake 3.25's CPackRPM runs `${RPM_EXECUTABLE} --suggests` to see whether
# rpmbuild takes weak dependencies (Suggests:) but never defines
# RPM_EXECUTABLE, so the check fails and the tag is dropped with a warning.
if(CPACK_GENERATOR STREQUAL "RPM" AND NOT RPM_EXECUTABLE)
  find_program(RPM_EXECUTABLE rpm)
endif()
