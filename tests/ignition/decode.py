"""Test-side readers of what the configs carry: NetworkManager keyfiles and haproxy.cfg servers."""

from __future__ import annotations

import configparser

from ignition.decode import Decoded, resource_bytes

__all__ = ["Decoded", "haproxy_servers", "keyfile", "resource_bytes"]


def keyfile(text: str) -> configparser.ConfigParser:
    """A NetworkManager keyfile as sections and keys (it is an INI file)."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read_string(text)
    return parser


def haproxy_servers(config: str) -> dict[str, list[tuple[str, str]]]:
    """{listen section: [(server name, address:port)]} of an haproxy.cfg."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in config.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if not line[0].isspace():
            current = words[1] if words[0] == "listen" else None
            if current:
                sections[current] = []
        elif current and words[0] == "server":
            sections[current].append((words[1], words[2]))
    return sections
