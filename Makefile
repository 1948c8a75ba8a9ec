# hashify — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
NODE_INCLUDE := $(shell node -p "require('path').join(process.execPath,'../../include/node')")
JEST := node --experimental-vm-modules --no-warnings node_modules/jest/bin/jest.js

.PHONY: all install build native test test-unit typecheck demo bench clean

all: build

node_modules/.installed: package.json package-lock.json
	npm ci --no-fund --no-audit
	@touch $@

install: node_modules/.installed

# The native addon (fd xattrs, futimens, syncfs) is a few lines of C against Node's own
# headers: no download, no node-gyp.
dist/native/linux.node: native/linux.c
	@mkdir -p dist/native
	cc -O2 -Wall -Wextra -Wno-unused-parameter -shared -fPIC -I$(NODE_INCLUDE) $< -o $@

native: dist/native/linux.node

build: install native
	node_modules/.bin/tsc -p tsconfig.json
	@chmod +x dist/cli.js

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
