# hashify — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
NODE_INCLUDE := $(shell node -p "require('path').join(process.execPath,'../../include/node')")
JEST := node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js

.PHONY: all install build native validator test test-unit typecheck demo bench clean

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit
	@touch $@

install: node_modules/.installed

# The native addon (native/*.c, one part per file, see native/napi_util.h) is C against
# Node's own headers (N-API, libuv, OpenSSL, all exported by the node binary): no download,
# no node-gyp. It needs a C compiler: `apt install gcc` where `cc` is missing.
NATIVE_SRC := $(wildcard native/*.c)
dist/native/linux.node: $(NATIVE_SRC) $(wildcard native/*.h)
	@mkdir -p dist/native
	@command -v cc >/dev/null || { echo "make: no C compiler (cc) found: install one, e.g. apt install gcc" >&2; exit 1; }
	cc -O2 -Wall -Wextra -Wno-unused-parameter -shared -fPIC -pthread -I$(NODE_INCLUDE) $(NATIVE_SRC) -o $@

native: dist/native/linux.node

build: install native
	node_modules/.bin/tsc -p tsconfig.json
	@chmod +x dist/cli.js

# src/planfile/planRecordValidator.ts is ajv's standalone code for schemas/plan-record.schema.json,
# checked in (test/planfile/validator.test.ts fails when it is stale): after editing the schema, run this.
validator: install
	node_modules/.bin/tsc -p tsconfig.json
	node --input-type=module -e "import { writeFileSync } from 'node:fs'; import { validatorSource, VALIDATOR_URL } from './dist/planfile/validatorSource.js'; writeFileSync(VALIDATOR_URL, validatorSource())"
	node_modules/.bin/tsc -p tsconfig.json

typecheck: install
	node_modules/.bin/tsc -p tsconfig.test.json

# Every test: unit and filesystem tests, crash tests, and the root-only fault tests
# (loop mounts, unprivileged children), which print a reason and skip where they cannot run.
test: build typecheck
	bash test/setup-test-deps.sh
	$(JEST) --ci $(JESTFLAGS)

demo: build
	bash demo/demo.sh

bench: build
	bash bench/run.sh

clean:
	rm -rf dist node_modules
