# Packages built by CPack from the install rules (cmake/PpaInstall.cmake).
