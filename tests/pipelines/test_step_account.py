"""A worker that cannot start steps as the step account says so loudly at start."""

import os

import pytest

from pipelines import step_isolation


@pytest.fixture
def account_setting(settings):
    step_isolation.step_account.cache_clear()
    yield settings
    step_isolation.step_account.cache_clear()


@pytest.mark.parametrize(
    "name, why",
    [("", "STUDIO_STEP_USER is empty"), ("no-such-account-13", "does not exist")],
)
def test_steps_running_as_the_worker_are_announced_loudly(account_setting, name, why):
    if os.geteuid() != 0:
        why = "not root"
    account_setting.STUDIO_STEP_USER = name
    assert step_isolation.step_account() is None
    (warning,) = [w for w in step_isolation.isolation_warnings() if "STEPS RUN AS" in w]
    assert why in warning and "database file" in warning
    assert step_isolation.launch_options() == {"umask": 0o077}
    if step_isolation.setpriv() is not None:  # only the parent-death signal is set
        argv, options = step_isolation.step_launch(["python", "s.py"])
        assert argv[1:] == ["--pdeathsig", "KILL", "--", "python", "s.py"]
        assert options == {"umask": 0o077}


def test_a_root_worker_switches_to_the_step_account(account_setting, step_account):
    if step_account is None:
        pytest.skip("needs root")
    account = step_isolation.step_account()
    assert (account.uid, account.gid) == (step_account.pw_uid, step_account.pw_gid)
    assert step_isolation.launch_options() == {
        "user": account.uid,
        "group": account.gid,
        "extra_groups": [],
        "umask": 0o077,
    }
    assert not [w for w in step_isolation.isolation_warnings() if "STEPS" in w]
    if step_isolation.setpriv() is None:
        return
    # The switch happens in setpriv, so the worker starts the step with vfork, not a fork.
    argv, options = step_isolation.step_launch(["python", "s.py"])
    assert argv[1:] == [
        "--pdeathsig",
        "KILL",
        f"--reuid={account.uid}",
        f"--regid={account.gid}",
        "--clear-groups",
        "--",
        "python",
        "s.py",
    ]
    assert options == {"umask": 0o077}
