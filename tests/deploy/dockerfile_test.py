#!/usr/bin/env python3
"""Lint of deploy/Dockerfile and deploy/Dockerfile.cpu, which cannot be built where the tests run
(no Docker daemon): stages, non-root USER, HEALTHCHECK, documented build arguments, COPY
sources that exist in the repository, and, for the Debian image, run-time packages that provide
every shared library the built binaries load.

    dockerfile_test.py SOURCE_DIR BIN_DIR
"""
import os
import re
import subprocess
import sys
import unittest

SOURCE, BIN = sys.argv[1:3]
del sys.argv[1:3]
BINARIES = ["gspo", "gspo-server", "gspo-worker", "gspoctl"]


def parse(path):
    """[(stage name or None, instruction, arguments)] with continuation lines joined; and the
    leading comment block."""
    with open(path) as f:
        text = f.read()
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    logical = re.sub(r"\\\n(\s*#[^\n]*\n)*", " ", text)
    out, stage = [], None
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        word = word.upper()
        if word == "FROM":
            m = re.search(r"\bAS\s+(\S+)", rest, re.I)
            stage = m.group(1) if m else ""
        out.append((stage, word, rest.strip()))
    return header, out


class Dockerfiles(unittest.TestCase):
    def check_common(self, name, build_contexts=()):
        header, lines = parse(os.path.join(SOURCE, "deploy", name))
        stages = [s for s, word, _ in lines if word == "FROM"]
        self.assertEqual(stages, ["build", "runtime"], name)
        final = [(w, a) for s, w, a in lines if s == "runtime"]
        users = [a for w, a in final if w == "USER"]
        self.assertTrue(users, f"{name}: no USER in the runtime stage")
        self.assertNotIn(users[-1], ("root", "0"), name)
        self.assertEqual(sum(w == "CMD" for w, _ in final), 1, name)
        (health,) = [a for w, a in final if w == "HEALTHCHECK"]
        # The health check runs a file the runtime stage copies in.
        probe = re.search(r'CMD \["([^"]+)"', health).group(1)
        self.assertTrue(any(w == "COPY" and a.endswith(" " + probe) for w, a in final), name)
        # Every build argument is documented in the file's header.
        for _, word, rest in lines:
            if word == "ARG":
                arg = rest.split("=")[0]
                self.assertRegex(header, rf"#\s+{arg}\s", f"{name}: ARG {arg} undocumented")
        # COPY sources exist in the repository; --from names a stage or a named build context.
        for stage, word, rest in lines:
            if word != "COPY":
                continue
            parts = rest.split()
            m = re.match(r"--from=(\S+)", parts[0])
            if m:
                self.assertIn(m.group(1), list(stages) + list(build_contexts), f"{name}: COPY {rest}")
                continue
            for src in parts[:-1]:
                self.assertTrue(os.path.exists(os.path.join(SOURCE, src)), f"{name}: COPY {src}: no such path")
        # The build stage builds and keeps all four programs.
        build_runs = " ".join(a for s, w, a in lines if s == "build" and w == "RUN")
        for b in BINARIES:
            self.assertIn(f"/tmp/build/bin/{b} ", build_runs + " ", f"{name}: {b} not built")
        self.assertIn("-DGSPO_BUILD_TESTS=OFF", build_runs)
        return lines

    def test_cuda_image(self):
        lines = self.check_common("Dockerfile", build_contexts=["libtorch"])
        froms = [a for _, w, a in lines if w == "FROM"]
        self.assertIn("cudnn-devel", froms[0])
        build_runs = " ".join(a for s, w, a in lines if s == "build" and w == "RUN")
        self.assertIn("-DCMAKE_PREFIX_PATH=/opt/libtorch", build_runs)

    def test_cpu_image_installs_setup_sh_packages_and_covers_the_libraries(self):
        lines = self.check_common("Dockerfile.cpu")
        froms = [a for _, w, a in lines if w == "FROM"]
        self.assertTrue(froms[0].startswith("debian:${DEBIAN_VERSION}"), froms[0])
        self.assertIn(("build", "RUN", "/tmp/setup.sh && rm -rf /var/lib/apt/lists/*"), lines)
        self.assertIn(("build", "COPY", "scripts/setup.sh /tmp/setup.sh"), lines)
        (install,) = [a for s, w, a in lines if s == "runtime" and w == "RUN" and "apt-get install" in a]
        packages = re.search(r"--no-install-recommends (.*?) &&", install).group(1).split()
        closure = set(subprocess.run(
            ["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
             "--no-breaks", "--no-replaces", "--no-enhances", *packages],
            capture_output=True, text=True, check=True).stdout.split("\n"))
        closure = {line.strip() for line in closure if line and not line.startswith(" ")}
        self.assertTrue(set(packages) <= closure, "unknown runtime packages")
        built = [os.path.join(BIN, b) for b in BINARIES if os.path.exists(os.path.join(BIN, b))]
        self.assertGreaterEqual(len(built), 3, BIN)  # gspo only in the build with LibTorch
        libs = set()
        for b in built:
            ldd = subprocess.run(["ldd", b], capture_output=True, text=True, check=True).stdout
            libs |= set(re.findall(r"=> (/\S+)", ldd))
        # dpkg knows a library under the path its package installed (/lib or /usr/lib).
        candidates = {lib: {lib, os.path.realpath(lib), re.sub(r"^/lib/", "/usr/lib/", lib),
                            re.sub(r"^/usr/lib/", "/lib/", lib)} for lib in libs}
        found = subprocess.run(["dpkg", "-S", *set().union(*candidates.values())],
                               capture_output=True, text=True).stdout
        owners = {}
        for line in found.splitlines():
            package, _, path = line.partition(": ")
            owners[path] = package.split(":")[0]
        missing = []
        for lib, paths in sorted(candidates.items()):
            owner = next((owners[p] for p in paths if p in owners), None)
            if owner is None or owner not in closure:
                missing.append(f"{lib} ({owner or 'no package'})")
        self.assertEqual(missing, [], "libraries the runtime stage does not install")


if __name__ == "__main__":
    unittest.main(verbosity=2)
