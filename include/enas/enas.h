/* enas.h - everything a plugin author needs, in one include. */
#ifndef ENAS_ENAS_H
#define ENAS_ENAS_H
#include "enas/plugin.h"
#endif
