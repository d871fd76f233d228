#!/usr/bin/env python3
"""Run the real module-build-service (MBS) 3.9.2 frontend for the integration tests.

Usage (with the venv made by setup.sh):

    <venv>/bin/python tests/clients/mbs/serve.py --dir WORKDIR --port PORT \
        [--done N:S:V:C]... platform.yaml module.yaml ...

It writes an MBS config into WORKDIR, creates a fresh SQLite schema there,
imports each modulemd file in the order given (in this process, with MBS's own
``import_mmd``, which is what ``mbs-manager import_module`` calls), sets the
builds named by ``--done`` to state 3 (done), serves the MBS app with gunicorn
on 127.0.0.1:PORT, and prints one line

    READY http://127.0.0.1:PORT/module-build-service

on stdout once ``GET .../1/about/`` answers.  It then stays in the foreground
until SIGTERM/SIGINT, which stop gunicorn too; it also stops by itself when its
parent process dies.  Progress goes to stderr.
"""

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
SECTION = "ComposedTestConfiguration"
T0 = time.monotonic()


def log(msg):
    print("mbs-serve [%5.2fs]: %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


def write_config(workdir):
    """Write the MBS config class file and the small files it points to."""
    db_path = os.path.join(workdir, "mbs.db")
    koji_conf = os.path.join(workdir, "koji.conf")
    mock_cfg = os.path.join(workdir, "mock.cfg")
    yum_conf = os.path.join(workdir, "yum.conf")
    with open(koji_conf, "w") as f:
        # Never contacted: the GET API does not talk to Koji.
        f.write(
            "[koji]\n"
            "server = http://127.0.0.1:9/kojihub\n"
            "weburl = http://127.0.0.1:9/koji\n"
            "topurl = http://127.0.0.1:9/kojifiles\n"
            "authtype = noauth\n"
        )
    with open(mock_cfg, "w") as f:
        f.write(
            "config_opts['root'] = 'mbs-test'\n"
            "config_opts['target_arch'] = 'x86_64'\n"
            "config_opts['chroot_setup_cmd'] = ''\n"
        )
    with open(yum_conf, "w") as f:
        f.write("[main]\nkeepcache=1\ngpgcheck=0\n")
    config_py = os.path.join(workdir, "mbs_config.py")
    with open(config_py, "w") as f:
        f.write(
            "# Written by tests/clients/mbs/serve.py\n"
            "class %s(object):\n"
            "    DEBUG = False\n"
            "    SECRET_KEY = 'composed-tests'\n"
            "    SQLALCHEMY_DATABASE_URI = %r\n"
            "    SQLALCHEMY_TRACK_MODIFICATIONS = False\n"
            "    SYSTEM = 'koji'\n"
            "    RESOLVER = 'db'\n"
            "    MESSAGING = 'drop'\n"
            "    NO_AUTH = True\n"
            "    KOJI_CONFIG = %r\n"
            "    KOJI_PROFILE = 'koji'\n"
            "    MOCK_CONFIG_FILE = [%r]\n"
            "    YUM_CONFIG_FILE = [%r]\n"
            "    BASE_MODULE_NAMES = ['platform']\n"
            "    LOG_BACKEND = 'console'\n"
            "    LOG_LEVEL = 'warning'\n"
            % (SECTION, "sqlite:///" + db_path, koji_conf, mock_cfg, yum_conf)
        )
    return config_py, db_path


def fill_db(db_path, files):
    """Create the schema and import every modulemd file, in this process."""
    if os.path.exists(db_path):
        os.unlink(db_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from module_build_service import app, db
        from module_build_service.common import models  # noqa: F401  (registers tables)
        from module_build_service.common.utils import import_mmd, load_mmd_file
    log("MBS imported")
    with app.app_context():
        db.create_all()
        for path in files:
            t = time.monotonic()
            mmd = load_mmd_file(path)
            build, _msgs = import_mmd(db.session, mmd)
            log("imported %s as id %d (%.3fs)" % (mmd.get_nsvc(), build.id, time.monotonic() - t))
        db.session.remove()


def set_done(db_path, nsvcs):
    con = sqlite3.connect(db_path)
    try:
        for nsvc in nsvcs:
            parts = nsvc.split(":")
            if len(parts) != 4:
                raise SystemExit("--done wants N:S:V:C, got %r" % nsvc)
            cur = con.execute(
                "UPDATE module_builds SET state = 3 "
                "WHERE name = ? AND stream = ? AND version = ? AND context = ?",
                parts,
            )
            if cur.rowcount != 1:
                raise SystemExit("--done %s: no such imported build" % nsvc)
            log("set %s to state 3 (done)" % nsvc)
        con.commit()
    finally:
        con.close()


def _die_with_parent():
    # Make gunicorn get SIGTERM if this process dies, even by SIGKILL.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", required=True, help="work directory (config, SQLite db)")
    ap.add_argument("--port", required=True, type=int)
    ap.add_argument("--done", action="append", default=[], metavar="N:S:V:C",
                    help="a build to set to state 3 (done) after the import; repeat the "
                         "option (or give a comma-separated list) for several")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for gunicorn")
    ap.add_argument("files", nargs="+", metavar="modulemd.yaml")
    args = ap.parse_args()

    parent = os.getppid()
    workdir = os.path.abspath(args.dir)
    os.makedirs(workdir, exist_ok=True)
    files = [os.path.abspath(f) for f in args.files]
    for f in files:
        if not os.path.isfile(f):
            raise SystemExit("no such file: %s" % f)

    config_py, db_path = write_config(workdir)
    env = dict(os.environ)
    env["MBS_CONFIG_FILE"] = config_py
    env["MBS_CONFIG_SECTION"] = SECTION
    env["PYTHONPATH"] = HERE + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONWARNINGS"] = "ignore"
    os.environ.update(env)
    if HERE not in sys.path:
        sys.path.insert(0, HERE)

    # Start gunicorn now: it imports the app (~1s) while this process fills the
    # db; the app does not touch the db until the first module-builds request,
    # and READY is printed only after both are done.
    url = "http://127.0.0.1:%d/module-build-service" % args.port
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-b", "127.0.0.1:%d" % args.port,
         "-w", "1", "--threads", "4", "--log-level", "warning",
         "module_build_service:app"],
        cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=sys.stderr,
        preexec_fn=_die_with_parent,
    )

    def stop():
        if gunicorn.poll() is None:
            gunicorn.terminate()
            try:
                gunicorn.wait(10)
            except subprocess.TimeoutExpired:
                gunicorn.kill()
                gunicorn.wait()

    class Stopped(BaseException):
        pass

    def on_signal(signum, frame):
        # Only raise here: waiting on gunicorn inside the handler could deadlock
        # with a wait in progress in the main code.
        raise Stopped(signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        fill_db(db_path, files)
        done = [n for arg in args.done for n in arg.split(",") if n]
        if done:
            set_done(db_path, done)

        deadline = time.monotonic() + args.timeout
        while True:
            if gunicorn.poll() is not None:
                raise SystemExit("gunicorn exited with %s" % gunicorn.returncode)
            try:
                with urllib.request.urlopen(url + "/1/about/", timeout=2) as r:
                    if r.status == 200:
                        r.read()
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("MBS did not answer on %s within %ss" % (url, args.timeout))
            time.sleep(0.05)
        log("serving on %s" % url)
        print("READY " + url, flush=True)
        while gunicorn.poll() is None:
            if os.getppid() != parent:
                # The caller died without stopping us (e.g. a dropped
                # std::process::Child): do not linger as an orphan.
                log("parent process gone, stopping")
                stop()
                sys.exit(0)
            time.sleep(0.5)
        log("gunicorn exited with %s" % gunicorn.returncode)
        sys.exit(gunicorn.returncode or 1)
    except Stopped:
        log("stopping")
        stop()
        sys.exit(0)
    except BaseException:
        stop()
        raise


if __name__ == "__main__":
    main()
