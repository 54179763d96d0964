"""Steps that finish as soon as they start: branch, set, result, send_dtmf, hangup."""

from __future__ import annotations

from outdial.flow import actions as a
from outdial.flow import steps as s
from outdial.flow.conditions import choose
from outdial.flow.context import Context, Done
from outdial.flow.runners import Runner
from outdial.flow.steps import JsonValue, Scalar

_SENDABLE = set("0123456789*#ABCDabcd,")


class BranchRunner(Runner):
    step: s.BranchStep

    def begin(self, ctx: Context) -> Done | None:
        index = choose(self.step.cases, ctx)
        if index is None:
            return Done(self.step.default, "default")
        return Done(self.step.cases[index].next, f"case {index}")


class SetRunner(Runner):
    step: s.SetStep

    def begin(self, ctx: Context) -> Done | None:
        values: dict[str, JsonValue] = {}
        for name, value in self.step.vars.items():
            values[name] = ctx.text(value) if isinstance(value, str) else value
        ctx.vars.names.update(values)
        return Done(self.step.next, "set " + ", ".join(values), values)


class ResultRunner(Runner):
    step: s.ResultStep

    def begin(self, ctx: Context) -> Done | None:
        fields: dict[str, Scalar] = {}
        for name, value in self.step.fields.items():
            fields[name] = ctx.text(value) if isinstance(value, str) else value
        ctx.results.update(fields)
        ctx.emit(a.SetResult(fields))
        return Done(self.step.next, "fields " + ", ".join(fields))


class SendDtmfRunner(Runner):
    step: s.SendDtmfStep

    def begin(self, ctx: Context) -> Done | None:
        digits = ctx.text(self.step.digits)
        bad = sorted(set(digits) - _SENDABLE)
        if bad:
            ctx.warn([f"not sent as DTMF: {''.join(bad)!r}"])
            digits = "".join(d for d in digits if d in _SENDABLE)
        if digits:
            ctx.emit(a.SendDtmf(digits))
        return Done(self.step.next, f"sent {digits}", redacted="sent")


class HangupRunner(Runner):
    def begin(self, ctx: Context) -> Done | None:
        return Done(None, "hangup", end=f"hangup step '{self.step.id}'")
