"""CMON ACL strings (``user::rwx,group::r--,other::---,user:alice:r-x``) as values."""

from __future__ import annotations

from dataclasses import dataclass, field

PRIVILEGES = "rwx"


def parse_perm(text: str) -> str:
    """Normalise ``r-x`` / ``rx`` / ``---`` to the set of granted letters, in rwx order."""
    t = text.strip()
    if len(t) == 3 and all(c in "rwx-" for c in t) and all(
        c in (PRIVILEGES[i], "-") for i, c in enumerate(t)
    ):
        return "".join(c for c in t if c != "-")
    if t and all(c in PRIVILEGES for c in t) and len(set(t)) == len(t):
        return "".join(c for c in PRIVILEGES if c in t)
    if t == "":
        return ""
    raise ValueError(f"Invalid permission '{text}'.")


def show_perm(granted: str) -> str:
    return "".join(c if c in granted else "-" for c in PRIVILEGES)


@dataclass(slots=True)
class Acl:
    """Owner, owning group and other permissions plus named user and group entries."""

    user: str = "rwx"
    group: str = "r"
    other: str = ""
    users: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Acl":
        """Parse CMON's comma-separated ACL; raises ValueError naming the bad entry."""
        acl = cls(user="", group="", other="")
        for raw in text.split(","):
            entry = raw.strip()
            if not entry:
                continue
            parts = entry.split(":")
            if len(parts) != 3:
                raise ValueError(f"Invalid ACL entry '{entry}'.")
            kind, name, perm = parts
            granted = parse_perm(perm)
            if kind in ("user", "u"):
                if name:
                    acl.users[name] = granted
                else:
                    acl.user = granted
            elif kind in ("group", "g"):
                if name:
                    acl.groups[name] = granted
                else:
                    acl.group = granted
            elif kind in ("other", "o") and not name:
                acl.other = granted
            else:
                raise ValueError(f"Invalid ACL entry '{entry}'.")
        return acl

    def __str__(self) -> str:
        parts = [f"user::{show_perm(self.user)}"]
        parts += [f"user:{n}:{show_perm(p)}" for n, p in self.users.items()]
        parts.append(f"group::{show_perm(self.group)}")
        parts += [f"group:{n}:{show_perm(p)}" for n, p in self.groups.items()]
        parts.append(f"other::{show_perm(self.other)}")
        return ",".join(parts)

    def copy(self) -> "Acl":
        return Acl(self.user, self.group, self.other, dict(self.users), dict(self.groups))
