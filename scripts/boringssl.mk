# Builds static libcrypto.a and libssl.a from Debian's android-platform-external-boringssl source
# package, using the file lists it ships in debian/sources.mk (pre-generated x86_64 assembly
# included, so neither Go nor CMake is needed). Run from the unpacked source folder:
#   make -f .../boringssl.mk -j2 OUT=/path/to/prefix
include debian/sources.mk

OUT ?= out
ARCH_SOURCES := $(linux_x86_64_sources)
CRYPTO_SRC := $(crypto_sources) $(ARCH_SOURCES)
CRYPTO_OBJ := $(addprefix obj/,$(patsubst %.S,%.o,$(CRYPTO_SRC:.c=.o)))
SSL_OBJ := $(addprefix obj/,$(ssl_sources:.cc=.o))

COMMON := -O2 -fPIC -fvisibility=hidden -ffunction-sections -fdata-sections -Wa,--noexecstack \
          -DNDEBUG -Isrc/include -Isrc/crypto
CFLAGS := -std=gnu11 $(COMMON)
CXXFLAGS := -std=gnu++2a -fno-exceptions -fno-rtti $(COMMON)

all: $(OUT)/lib/libcrypto.a $(OUT)/lib/libssl.a

$(OUT)/lib/libcrypto.a: $(CRYPTO_OBJ)
	mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(OUT)/lib/libssl.a: $(SSL_OBJ)
	mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $< $(CFLAGS)

obj/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) -c -o $@ $< $(CFLAGS)

obj/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) -c -o $@ $< $(CXXFLAGS)
