"""Stub of pungi.arch for module-build-service (never called by the GET API)."""

_COMPAT = {
    "x86_64": ["x86_64", "athlon", "i686", "i586", "i486", "i386", "noarch"],
    "aarch64": ["aarch64", "noarch"],
    "ppc64le": ["ppc64le", "noarch"],
    "s390x": ["s390x", "noarch"],
    "i686": ["i686", "i586", "i486", "i386", "noarch"],
    "noarch": ["noarch"],
}

_TREE_TO_YUM = {"i386": "i686"}


def get_compatible_arches(arch, multilib=False):
    return list(_COMPAT.get(arch, [arch, "noarch"]))


def get_valid_arches(tree_arch, multilib=True, add_noarch=True, add_src=False):
    result = [a for a in get_compatible_arches(tree_arch) if add_noarch or a != "noarch"]
    if add_src:
        result.append("src")
    return result


def tree_arch_to_yum_arch(tree_arch):
    return _TREE_TO_YUM.get(tree_arch, tree_arch)
