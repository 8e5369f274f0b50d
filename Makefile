# PGXS build of the crm_analytics extension (C++17 + Eigen).
EXTENSION = crm_analytics
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = crm_analytics
CORE_SRCS = $(wildcard src/core/*.cpp)
PG_SRCS = $(wildcard src/pg/*.cpp)
OBJS = $(CORE_SRCS:.cpp=.o) $(PG_SRCS:.cpp=.o)

# The install script of the current version is built from one module per
# feature (sql/install/<module>.sql, in this order); released versions' install
# scripts and the upgrade scripts between versions are frozen files.
INSTALL_MODULES = header common rfm weighted_score campaign cold_chain kmeans cf reco factors clv baskets kpis trees profile bi
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = sql/$(EXTENSION)--0.1.0.sql $(wildcard sql/$(EXTENSION)--*--*.sql)

# Regression tests: sql/<name>.sql against expected/<name>.out, in this order.
REGRESS = setup rfm rfm_composable quantile_approx weighted_score campaign cold_chain kmeans cf reco factors clv baskets kpis trees profile partial_combine bridge
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

PG_CONFIG ?= pg_config
PG_CPPFLAGS = -Isrc/core -Isrc/pg -I/usr/include/eigen3
# Warnings on for the adapter too; only the SQL entry points are exported
# (pg_includes.hpp); -MMD tracks each object's headers (the .d files).
PG_CXXFLAGS = -std=c++17 -Wno-register -O2 -fvisibility=hidden -fvisibility-inlines-hidden \
              -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -MMD -MP
SHLIB_LINK = -lstdc++ -Wl,--version-script=$(srcdir)/src/pg/exports.map
EXTRA_CLEAN = results regression.diffs regression.out $(OBJS:.o=.d)

PGXS := $(shell $(PG_CONFIG) --pgxs)
# Debian's PGXS compiles every source to LLVM bitcode with clang in C++14 mode;
# the JIT cannot inline C++ code anyway, so skip it.
override with_llvm = no
include $(PGXS)

# A source archive of the committed tree: crm_analytics-<version>.zip (PGXN layout).
.PHONY: dist
dist:
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ -o $(EXTENSION)-$(EXTVERSION).zip HEAD

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_MODULES:%=sql/install/%.sql) Makefile
	cat $(INSTALL_MODULES:%=sql/install/%.sql) > $@

# Header dependencies, written by -MMD at the first build.
-include $(OBJS:.o=.d)

# The export list is an input of the link.
$(shlib): src/pg/exports.map
