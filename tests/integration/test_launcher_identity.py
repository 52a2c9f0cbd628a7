# SPDX-License-Identifier: Apache-2.0
"""Who the container process is, and what it may do, in each flow.

Everything is read inside the container from /proc/self/status (and the id
maps), as a user would check it by hand.
"""

import pytest

from conftest import HOST_IDENTITY_MAP, NOBODY, OCI_DEFAULT_CAPS, parse_limits

NO_CAPS = frozenset()


def assert_ids(st, uid, gid):
    assert st.ids("Uid") == [uid] * 4, "Uid (real, effective, saved, fs): %s" % st["Uid"]
    assert st.ids("Gid") == [gid] * 4, "Gid (real, effective, saved, fs): %s" % st["Gid"]


def assert_caps(st, **expected):
    got = {k: st.caps(k) for k in expected}
    want = {k: frozenset(v) for k, v in expected.items()}
    assert got == want, "capability sets differ:\n" + "".join(
        "  %s: extra %s, missing %s\n" % (k, sorted(got[k] - want[k]), sorted(want[k] - got[k]))
        for k in expected if got[k] != want[k])


# ---------------------------------------------------------------- setuid flow


def test_setuid_container_runs_as_caller_without_caps(setuid):
    st, uid_map, gid_map = setuid.status_and_maps()
    assert_ids(st, NOBODY, NOBODY)
    assert st.groups() == [], "no supplementary groups expected, got %s" % st["Groups"]
    assert_caps(st, CapEff=NO_CAPS, CapPrm=NO_CAPS, CapInh=NO_CAPS, CapAmb=NO_CAPS, CapBnd=NO_CAPS)
    # no user namespace in the setuid flow: the host's identity map
    assert uid_map == HOST_IDENTITY_MAP and gid_map == HOST_IDENTITY_MAP


def test_setuid_user_option_naming_the_caller_is_accepted(setuid):
    st = setuid.status("--user", "%d:%d" % (NOBODY, NOBODY))
    assert_ids(st, NOBODY, NOBODY)
    assert_caps(st, CapEff=NO_CAPS, CapPrm=NO_CAPS, CapBnd=NO_CAPS)


@pytest.mark.parametrize("user", ["0", "0:0", "1000:1000", "%d:0" % NOBODY])
def test_setuid_user_other_than_caller_is_refused(setuid, user):
    setuid.run("--user", user, cmd=["/bin/true"]).refused(("--user", "process.user"))


@pytest.mark.parametrize("cap", ["CAP_NET_RAW", "CAP_SYS_ADMIN"])
def test_setuid_cap_add_is_refused(setuid, cap):
    setuid.run("--cap-add", cap, cmd=["/bin/true"]).refused()


def test_setuid_cap_drop_is_harmless(setuid):
    st = setuid.status("--cap-drop", "ALL")
    assert_caps(st, CapEff=NO_CAPS, CapPrm=NO_CAPS, CapBnd=NO_CAPS, CapAmb=NO_CAPS)


def test_setuid_rlimit_hard_above_callers_is_refused(setuid):
    # the caller's hard limit is 4096; asking for more must not be granted by the setuid root
    setuid.run("--rlimit", "nofile=512:8192", cmd=["/bin/true"],
               caller_nofile=(1024, 4096)).refused(("--rlimit", "process.rlimits"))


def test_setuid_rlimit_within_callers_hard_is_applied(setuid):
    out = setuid.run("--rlimit", "nofile=512:2048", cmd=["/bin/cat", "/proc/self/limits"],
                     caller_nofile=(1024, 4096)).ok()
    assert parse_limits(out)["Max open files"] == ("512", "2048"), out


def test_setuid_flow_forced_as_root_is_refused(root):
    res = root.run("--flow", "setuid", cmd=["/bin/true"], flow_opt=False)
    res.refused("setuid")


# ---------------------------------------------------------------- userns flow


def test_userns_default_maps_caller_to_itself_without_caps(userns):
    st, uid_map, gid_map = userns.status_and_maps()
    assert_ids(st, NOBODY, NOBODY)
    assert_caps(st, CapEff=NO_CAPS, CapPrm=NO_CAPS, CapInh=NO_CAPS, CapAmb=NO_CAPS)
    assert uid_map == ["%d %d 1" % (NOBODY, NOBODY)], uid_map
    assert gid_map == ["%d %d 1" % (NOBODY, NOBODY)], gid_map


def test_userns_user0_maps_caller_to_root_with_oci_default_caps(userns):
    st, uid_map, gid_map = userns.status_and_maps("--user", "0")
    assert_ids(st, 0, 0)
    assert_caps(st, CapEff=OCI_DEFAULT_CAPS, CapPrm=OCI_DEFAULT_CAPS, CapAmb=NO_CAPS)
    assert uid_map == ["0 %d 1" % NOBODY], uid_map
    assert gid_map == ["0 %d 1" % NOBODY], gid_map


def test_userns_root_inside_holds_no_host_privilege(userns, world):
    # root inside may chown to ids of its own namespace, but not to an unmapped
    # id, and what it creates belongs to the caller on the host
    name = "tmp/cn-userns-owner"
    script = ("touch /{0}; echo touch=$?; chown 0:0 /{0}; echo chown0=$?; "
              "chown 1000 /{0} 2>/dev/null; echo chown1000=$?").format(name)
    res = userns.sh(script, "--user", "0")
    out = res.ok().split()
    host = world.rootfs_user / name
    try:
        assert out[:2] == ["touch=0", "chown0=0"], res
        assert out[2] != "chown1000=0", "chown to an unmapped uid must fail in the user namespace\n%s" % res
        st = host.stat()
        assert (st.st_uid, st.st_gid) == (NOBODY, NOBODY)
    finally:
        if host.exists():
            host.unlink()


# ---------------------------------------------------------------- root flow


def test_root_default_is_root_with_oci_default_caps(root):
    st, uid_map, _ = root.status_and_maps()
    assert_ids(st, 0, 0)
    assert st.groups() == [], "no supplementary groups were asked for, got %s" % st["Groups"]
    assert_caps(st, CapEff=OCI_DEFAULT_CAPS, CapPrm=OCI_DEFAULT_CAPS, CapBnd=OCI_DEFAULT_CAPS,
                CapInh=NO_CAPS, CapAmb=NO_CAPS)
    assert uid_map == HOST_IDENTITY_MAP


def test_root_nonroot_user_has_no_caps_but_default_bounding(root):
    st = root.status("--user", "1000:1000")
    assert_ids(st, 1000, 1000)
    assert st.groups() == []
    assert_caps(st, CapEff=NO_CAPS, CapPrm=NO_CAPS, CapInh=NO_CAPS, CapAmb=NO_CAPS,
                CapBnd=OCI_DEFAULT_CAPS)


def test_root_cap_add_reaches_all_five_sets_of_root(root):
    st = root.status("--cap-add", "CAP_SYS_ADMIN")
    full = OCI_DEFAULT_CAPS | {"CAP_SYS_ADMIN"}
    assert_caps(st, CapEff=full, CapPrm=full, CapBnd=full,
                CapInh={"CAP_SYS_ADMIN"}, CapAmb={"CAP_SYS_ADMIN"})


def test_root_cap_add_survives_exec_for_nonroot_user_via_ambient(root):
    st = root.status("--user", "1000:1000", "--cap-add", "CAP_SYS_ADMIN")
    assert_ids(st, 1000, 1000)
    one = {"CAP_SYS_ADMIN"}
    assert_caps(st, CapEff=one, CapPrm=one, CapInh=one, CapAmb=one,
                CapBnd=OCI_DEFAULT_CAPS | one)


def test_root_cap_drop_removes_it_from_every_set(root):
    st = root.status("--cap-drop", "CAP_NET_RAW")
    rest = OCI_DEFAULT_CAPS - {"CAP_NET_RAW"}
    assert_caps(st, CapEff=rest, CapPrm=rest, CapBnd=rest, CapInh=NO_CAPS, CapAmb=NO_CAPS)


def test_root_cap_drop_all_leaves_root_without_caps(root):
    st = root.status("--cap-drop", "ALL")
    assert_ids(st, 0, 0)
    assert_caps(st, CapEff=NO_CAPS, CapPrm=NO_CAPS, CapBnd=NO_CAPS, CapInh=NO_CAPS, CapAmb=NO_CAPS)


def test_root_cap_names_are_accepted_in_short_and_any_case(root):
    # libcap spells them either way; the launcher is documented as "any case"
    st = root.status("--cap-add", "cap_sys_ptrace")
    assert "CAP_SYS_PTRACE" in st.caps("CapEff")


# ---------------------------------------------------------------- flow choice


def test_auto_flow_picks_setuid_for_setuid_binary_run_by_user(setuid):
    st, uid_map, _ = setuid.status_and_maps(flow_opt=False)
    assert_ids(st, NOBODY, NOBODY)
    assert uid_map == HOST_IDENTITY_MAP, "auto for a setuid run must not create a user namespace: %s" % uid_map
    assert_caps(st, CapEff=NO_CAPS, CapPrm=NO_CAPS, CapBnd=NO_CAPS)


def test_auto_flow_picks_userns_for_plain_binary_run_by_user(userns):
    st, uid_map, _ = userns.status_and_maps(flow_opt=False)
    assert_ids(st, NOBODY, NOBODY)
    assert uid_map == ["%d %d 1" % (NOBODY, NOBODY)], uid_map


def test_auto_flow_picks_root_for_root(root):
    st, uid_map, _ = root.status_and_maps(flow_opt=False)
    assert_ids(st, 0, 0)
    assert_caps(st, CapEff=OCI_DEFAULT_CAPS, CapBnd=OCI_DEFAULT_CAPS)
    assert uid_map == HOST_IDENTITY_MAP


def test_setuid_run_asking_for_user_namespace_is_refused(setuid):
    # DESIGN: setuid + user namespace is refused unless fakeroot
    setuid.run("--flow", "userns", cmd=["/bin/true"], flow_opt=False).refused()


def test_fakeroot_flow_is_refused_without_a_setuid_binary_and_a_subordinate_range(flow):
    """None of these callers qualifies: root and 65534 have no /etc/subuid range, and a
    binary that is not setuid cannot write the maps (test_launcher_fakeroot.py runs the real flow)."""
    flow.run("--flow", "fakeroot", cmd=["/bin/true"], flow_opt=False).refused("fakeroot")
