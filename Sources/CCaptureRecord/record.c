/* The record layout is the header; this file gives the target something to build. */
#include "memjournal_record.h"
