// Kept for existing includers: the secret path resolver lives in the TOML toolkit.
#pragma once

#include "config/toml/secret_path.hpp"
