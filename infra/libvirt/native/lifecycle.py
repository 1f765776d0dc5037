"""The lifecycle every native provider follows, once; each kind of libvirt object (providers.py) says only what
differs: how to find it, make it, change it and remove it.

  create  an object of that name already there (an interrupted `up`, a libvirtd restart mid-create) is adopted
          when it matches the declared definition, finished where it is half-made (started, autostarted, its
          missing parts added), removed and made anew where it is this resource's own broken leftover, and
          refused otherwise; a create that fails undoes what it made, newest first.
  read    `pulumi refresh`: the live facts, the drift from the declared XML; a vanished object reads as gone.
  diff    identity inputs (another URI, name, ...) replace; the rest is compared fact by fact. A replacement
          creates the new object before the old goes unless libvirt keeps something the two share unique
          (`collides`): then the old must go first.
  update  in place; each kind says how (and why not create-then-swap, where libvirt cannot).
  delete  idempotent: an object already gone is fine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from pulumi.dynamic import CreateResult, DiffResult, ReadResult, ResourceProvider, UpdateResult

from infra.libvirt.native.connection import LibvirtObjectError, connection, libvirt_module
from infra.libvirt.native.facts import FACTS, FactKey, Facts, changed, changed_facts, flat

# Pulumi's marker for a value not known during preview (pulumi.runtime.rpc.UNKNOWN).
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
Undo = list[Callable[[], None]]


def drift_lines(declared: dict[str, str], live: dict[str, str]) -> list[str]:
    """How the live object differs from what the stack declares: `memory: declared 536870912, live 1073741824`."""
    return [f"{key}: declared {want or '(none)'}, live {have or '(none)'}"
            for key, (want, have) in changed(declared, live).items()]


def explain(changes: dict[FactKey, tuple[str, str]], note: Callable[[FactKey], str]) -> list[str]:
    """One line per changed fact: `memory: 536870912 -> 1073741824 (takes effect after restart)`."""
    return [f"{key}: {old or '(none)'} -> {new or '(none)'}{note(key)}" for key, (old, new) in changes.items()]


def undo(steps: Undo) -> None:
    """Roll back what a failed create made, newest first; a failing step must not stop the others."""
    for step in reversed(steps):
        try:
            step()
        except Exception:  # noqa: BLE001 - the create's own error is what the user needs to see
            pass


def not_found(error) -> bool:
    libvirt = libvirt_module()
    return error.get_error_code() in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_NETWORK,
                                      libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_ERR_NO_STORAGE_VOL)


def lookup(find: Callable[[str], Any], key: str):
    """The object, or None when libvirt says it does not exist (deleted out of band, or never made)."""
    libvirt = libvirt_module()
    try:
        return find(key)
    except libvirt.libvirtError as error:
        if not_found(error):
            return None
        raise


def public(props: dict[str, Any], *leave_out: str) -> dict[str, Any]:
    """The inputs as outputs: everything but Pulumi's serialized provider (and what the kind keeps out)."""
    return {k: v for k, v in props.items() if k != "__provider" and k not in leave_out}


class ObjectProvider(ResourceProvider):
    """One kind of libvirt object. Subclasses keep no state on `self`: Pulumi pickles them into the state."""

    kind: ClassVar[str]  # what messages call it: "pool", "Ignition volume"
    identity: ClassVar[tuple[str, ...]]  # inputs that name another object: a change replaces
    remedy: ClassVar[str] = ""  # how a clashing object is removed by hand

    # -- what each kind says -------------------------------------------------------------------------------------

    def find(self, conn, props: dict[str, Any], id_: str) -> Any | None:
        """The object with this id, or None."""
        raise NotImplementedError

    def find_existing(self, conn, props: dict[str, Any]) -> Any | None:
        """An object that already has this resource's name (libvirt keeps names unique), or None."""
        raise NotImplementedError

    def mismatch(self, conn, props: dict[str, Any], obj) -> str | None:
        """Why an existing object is not the declared one, or None when it is (it is then adopted)."""
        raise NotImplementedError

    def adopt(self, conn, props: dict[str, Any], obj):
        """Finish what an interrupted create left undone (start it, set autostart, add missing parts)."""
        return obj

    def discard_leftover(self, conn, props: dict[str, Any], obj, reason: str) -> bool:
        """Remove `obj` if it is provably this resource's own half-made leftover; True when it was removed."""
        return False

    def make(self, conn, props: dict[str, Any], made: Undo):
        """Create the object; append to `made` how to undo each step."""
        raise NotImplementedError

    def object_id(self, obj, props: dict[str, Any]) -> str:
        raise NotImplementedError

    def outputs(self, conn, props: dict[str, Any], obj, **extra: Any) -> dict[str, Any]:
        raise NotImplementedError

    def read_outputs(self, conn, props: dict[str, Any], obj) -> dict[str, Any]:
        return self.outputs(conn, props, obj)

    def refreshed_inputs(self, outs: dict[str, Any]) -> dict[str, Any] | None:
        """The inputs a refresh records (None: keep the program's)."""
        return None

    def change(self, conn, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        """Apply an in-place update; returns the new outputs."""
        raise NotImplementedError(f"a {self.kind} is never updated in place: its diff replaces it")

    def remove(self, conn, props: dict[str, Any], obj) -> None:
        raise NotImplementedError

    def changes(self, olds: dict[str, Any], news: dict[str, Any]) -> tuple[bool, list[str]]:
        """(anything to do, inputs beyond the identity whose change needs a new object)."""
        return False, []

    def unknown(self, news: dict[str, Any]) -> bool:
        """An input the preview does not know yet: assume it changes."""
        return False

    def collides(self, olds: dict[str, Any], news: dict[str, Any]) -> bool:
        """Whether old and new share what libvirt keeps unique: then the old must go before the new is made."""
        return all(olds.get(k) == news.get(k) for k in ("uri", "pool", "name"))

    # -- the skeleton ------------------------------------------------------------------------------------------------

    def name_of(self, props: dict[str, Any]) -> str:
        return props.get("name", "")

    def error(self, props: dict[str, Any], action: str, message: str) -> LibvirtObjectError:
        return LibvirtObjectError(props["host"], props["uri"], self.kind, self.name_of(props), action, message)

    @contextmanager
    def call(self, props: dict[str, Any], action: str) -> Iterator[Any]:
        """The host's connection; libvirt's exception becomes one that names the host, the object and the action."""
        libvirt = libvirt_module()
        conn = connection(props["uri"], props["host"])
        try:
            yield conn
        except libvirt.libvirtError as error:
            raise self.error(props, action, error.get_error_message()) from None

    def create(self, props: dict[str, Any]) -> CreateResult:
        with self.call(props, "create") as conn:
            obj = self.find_existing(conn, props)
            if obj is not None:
                reason = self.mismatch(conn, props, obj)
                if reason is None:
                    obj = self.adopt(conn, props, obj)
                elif self.discard_leftover(conn, props, obj, reason):
                    obj = None
                else:
                    raise self.error(props, "create", f"a {self.kind} of that name already exists outside this "
                                     f"stack ({reason}); remove it ({self.remedy}) or import it into the stack")
            if obj is None:
                made: Undo = []
                try:
                    obj = self.make(conn, props, made)
                except BaseException:
                    undo(made)
                    raise
            return CreateResult(self.object_id(obj, props), self.outputs(conn, props, obj))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self.call(props, "read") as conn:
            obj = self.find(conn, props, id_)
            if obj is None:
                return ReadResult(None, {})
            outs = self.read_outputs(conn, props, obj)
            return ReadResult(id_, outs, self.refreshed_inputs(outs))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in self.identity if olds.get(k) != news.get(k)]
        if self.unknown(news):
            changes = True
        else:
            changes, more = self.changes(olds, news)
            replaces += more
            changes = changes or bool(replaces)
        return DiffResult(changes=changes, replaces=replaces,
                          delete_before_replace=bool(replaces) and self.collides(olds, news))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with self.call(news, "update") as conn:
            return UpdateResult(self.change(conn, id_, olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        with self.call(props, "delete") as conn:
            obj = self.find(conn, props, id_)
            if obj is not None:
                self.remove(conn, props, obj)


class XmlObjectProvider(ObjectProvider):
    """A kind fully described by its XML (pool, network, volume, domain): compared, refreshed and adopted fact by
    fact (facts.py)."""

    facts_kind: ClassVar[str]
    replace_facts: ClassVar[frozenset[FactKey]] = frozenset()  # facts libvirt cannot change in place
    plain_inputs: ClassVar[tuple[str, ...]] = ()  # inputs outside the XML that an update applies
    outputs_only: ClassVar[tuple[str, ...]] = ("live", "drift", "path", "running", "pending_restart")
    restart_note: ClassVar[str] = ""

    def live_xml(self, obj) -> str:
        return obj.XMLDesc(0)

    def facts(self, xml: str) -> Facts:
        return FACTS[self.facts_kind](xml)

    def managed(self, live: Facts, declared: Facts) -> Facts:
        """The live facts this resource owns (a network leaves node reservations to their own resources)."""
        return live

    def note(self, key: FactKey) -> str:
        return " (needs a new object: replace)" if key in self.replace_facts else self.restart_note

    def delta(self, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, tuple[str, str]]:
        """What differs between the object as last seen (the state's live facts, else the old XML) and the new
        XML, by display key: the diff has no libvirt to ask."""
        current = olds.get("live") or flat(self.facts(olds["xml"]))
        return changed(current, flat(self.facts(news["xml"])))

    def live_delta(self, obj, news: dict[str, Any]) -> dict[FactKey, tuple[str, str]]:
        """What an update changes: the object as libvirt has it now against the new XML."""
        declared = self.facts(news["xml"])
        return changed_facts(self.managed(self.facts(self.live_xml(obj)), declared), declared)

    def unknown(self, news: dict[str, Any]) -> bool:
        return news.get("xml") == UNKNOWN

    def changes(self, olds: dict[str, Any], news: dict[str, Any]) -> tuple[bool, list[str]]:
        delta = self.delta(olds, news)
        replacing = {str(k) for k in self.replace_facts} & set(delta)
        text_changed = olds.get("xml") != news.get("xml")
        plain_changed = any(olds.get(k) != news.get(k) for k in self.plain_inputs)
        return bool(delta or text_changed or plain_changed), ["xml"] if replacing else []

    def mismatch(self, conn, props: dict[str, Any], obj) -> str | None:
        declared = self.facts(props["xml"])
        differing = changed_facts(declared, self.managed(self.facts(self.live_xml(obj)), declared))
        if not differing:
            return None
        return "; ".join(f"{key}: is {have or '(none)'}, declared {want or '(none)'}"
                         for key, (want, have) in differing.items())

    def outputs(self, conn, props: dict[str, Any], obj, **extra: Any) -> dict[str, Any]:
        declared = self.facts(props["xml"])
        live = flat(self.managed(self.facts(self.live_xml(obj)), declared))
        return {**public(props), **extra, "live": live, "drift": drift_lines(flat(declared), live)}

    def refreshed_inputs(self, outs: dict[str, Any]) -> dict[str, Any]:
        """After a refresh the recorded inputs carry the live `elements`, so the next preview's diff names each
        XML element that drifted (`elements.memory: "1073741824" => "536870912"`), not just "xml changed"."""
        inputs = {k: v for k, v in outs.items() if k not in self.outputs_only}
        inputs["elements"] = outs["live"]
        return inputs
