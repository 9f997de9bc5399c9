"""The flow-run image, built here with podman: engine settings, an offline base, the build.

No image registry is reachable from CI's machines, so when the Dockerfile's base image
cannot be pulled a stand-in is made from Debian's own packages (debootstrap): the same Debian
release, Python 3.11 in a venv at /usr/local (as the official slim image has it, so pip
installs as root), tagged with the exact name of the Dockerfile's FROM.

Run as a script, it makes the stand-in: `python -m tests.support.image base`.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("podman", "runc", "debootstrap")


def missing_tools() -> list[str]:
    """The tools a pod test needs that this machine lacks."""
    return [tool for tool in TOOLS if shutil.which(tool) is None]


def engine_env() -> dict[str, str]:
    """The environment podman runs with: the test's own engine settings, nothing in /etc.

    runc, because crun refuses cgroups in hybrid mode; ulimits no higher than this process
    may set (podman's defaults are above what these machines allow).
    """
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    nofile = 1048576 if hard == resource.RLIM_INFINITY else hard
    conf = Path(tempfile.gettempdir()) / "pipelines-containers.conf"
    conf.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc=32768:32768"]\n'
        '[engine]\nruntime = "runc"\n'
    )
    return {**os.environ, "CONTAINERS_CONF": str(conf)}


def podman(
    *args: str, check: bool = True, timeout: float = 1800, **kwargs
) -> subprocess.CompletedProcess:
    """Run podman with the test's engine settings; a failure shows what podman said."""
    result = subprocess.run(
        ["podman", *args],
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"podman {' '.join(args[:2])} failed ({result.returncode}):\n"
            f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def base_image_name(dockerfile: Path = REPO_ROOT / "Dockerfile") -> str:
    """The image the Dockerfile's stages start FROM (one name for all of them)."""
    names = {m.group(1) for m in re.finditer(r"^FROM\s+(\S+)", dockerfile.read_text(), re.M)}
    if len(names) != 1:
        raise ValueError(f"expected one base image in {dockerfile}, found {sorted(names)}")
    return names.pop()


def has_image(name: str) -> bool:
    return podman("image", "exists", name, check=False).returncode == 0


def ensure_base(name: str | None = None) -> str:
    """The base image, pulled when a registry answers, else made offline (once per machine)."""
    name = name or base_image_name()
    if has_image(name):
        return "present"
    if podman("pull", "--quiet", name, check=False, timeout=120).returncode == 0:
        return "pulled"
    build_standin(name)
    return "stand-in"


def build_standin(name: str) -> None:
    """debootstrap bookworm, then Debian's python3.11 with /usr/local made a venv over it
    (Debian's own python refuses pip as root; a venv is exempt) with the pip, setuptools
    and wheel the official slim image ships."""
    with tempfile.TemporaryDirectory(prefix="pipelines-base-") as work:
        rootfs = Path(work) / "rootfs"
        subprocess.run(
            ["debootstrap", "--variant=minbase", "bookworm", str(rootfs)],
            check=True,
            capture_output=True,
            timeout=900,
        )
        tarred = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        podman("import", "-", f"{name}-rootfs", stdin=tarred.stdout)
        tarred.wait()
        (Path(work) / "Containerfile").write_text(
            f"FROM {name}-rootfs\n"
            "ENV LANG=C.UTF-8 PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "RUN apt-get update && apt-get install -y --no-install-recommends python3.11 "
            "python3.11-venv libpython3.11-dev ca-certificates && rm -rf /var/lib/apt/lists/* "
            "&& python3.11 -m venv --clear /usr/local "
            "&& PIP_CERT=$(test -f /run/host-ca.pem && echo /run/host-ca.pem) "
            "/usr/local/bin/pip install --no-cache-dir 'pip==24.0' 'setuptools==65.5.1' "
            "'wheel<0.46' && ln -sf /usr/local/bin/python3.11 /usr/local/bin/python3\n"
            'CMD ["python3"]\n'
        )
        cert = os.environ.get("PIP_CERT")
        mount = ["-v", f"{cert}:/run/host-ca.pem:ro"] if cert and os.path.isfile(cert) else []
        podman("build", "--pull=never", "--network=host", *mount, "-t", name, work)
        podman("rmi", f"{name}-rootfs", check=False)


def build_image(tag: str) -> float:
    """Build the repo's Dockerfile as `make image` does; returns the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        ["make", "--no-print-directory", "image", "IMAGE_ENGINE=podman", f"IMAGE={tag}"],
        cwd=REPO_ROOT,
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"make image failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return time.monotonic() - started


def image_size(tag: str) -> int:
    return int(podman("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip())


def image_name() -> str:
    """The flow-run image's local name for this checkout (tagged by its dependencies)."""
    tag = subprocess.run(
        [sys.executable, "manage.py", "image-tag"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    return f"localhost/pipelines:{tag}"


def wait_for_prebuild(timeout_s: float = 1800) -> None:
    """Wait for the build .ci/run started in the background (TEST_IMAGE_PREBUILD_DONE
    names the file it writes its exit status to), so the pod tests' own build finds every
    layer cached instead of building the same image a second time at once."""
    done = os.environ.get("TEST_IMAGE_PREBUILD_DONE")
    deadline = time.monotonic() + timeout_s
    while done and not os.path.exists(done) and time.monotonic() < deadline:
        time.sleep(1)


if __name__ == "__main__":
    if sys.argv[1:] == ["base"]:
        print(f"{base_image_name()}: {ensure_base()}")
    elif sys.argv[1:] == ["prebuild"]:
        base = ensure_base()
        print(f"{image_name()}: base {base}, built in {build_image(image_name()):.0f} s")
    else:
        raise SystemExit("usage: python -m tests.support.image base|prebuild")
