// Run once per JavaScript context, before the author's script. It is a function expression: the
// module calls it with its native helpers, which stay private to these closures.
(function (recordCheck, recordNote, regexMatches, regexCompile) {
  "use strict";

  // Determinism: the same user and settings must always give the same decision, in every
  // instance and on every replay. Nothing random, no clock, nothing that depends on when the
  // garbage collector runs.
  delete Math.random;
  delete globalThis.performance;
  delete globalThis.WeakRef;
  delete globalThis.FinalizationRegistry;
  const RealDate = Date;
  function FixedDate(...args) {
    if (new.target === undefined) {
      return new RealDate(0).toString();
    }
    return args.length === 0 ? new RealDate(0) : new RealDate(...args);
  }
  Object.defineProperty(FixedDate, "prototype", { value: RealDate.prototype });
  Object.defineProperty(RealDate.prototype, "constructor", { value: FixedDate });
  FixedDate.now = () => 0;
  FixedDate.parse = RealDate.parse;
  FixedDate.UTC = RealDate.UTC;
  globalThis.Date = FixedDate;

  const deepFreeze = (value) => {
    if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
      Object.freeze(value);
      for (const key of Object.keys(value)) deepFreeze(value[key]);
    }
    return value;
  };

  Object.defineProperty(globalThis, "trace", {
    value: Object.freeze({
      check(rule, description, matched) {
        const outcome = Boolean(matched);
        recordCheck(String(rule), String(description), outcome);
        return outcome;
      },
      note(rule, text) {
        recordNote(rule === null || rule === undefined ? null : String(rule), String(text));
      },
    }),
  });

  Object.defineProperty(globalThis, "emailDomain", {
    value(user) {
      const address = user.email ?? user.userName;
      if (typeof address !== "string") return null;
      const at = address.lastIndexOf("@");
      return at < 0 ? null : address.slice(at + 1).replace(/[A-Z]+/g, (s) => s.toLowerCase());
    },
  });

  // Thrown by a script's validateConfig to refuse the settings' config at `path` (the API's
  // notation: "rules[0].pattern"; "" for all of it).
  class ConfigError extends Error {
    constructor(path, message) {
      super(String(message));
      this.path = path === undefined || path === null ? "" : String(path);
    }
  }
  Object.defineProperty(ConfigError.prototype, "name", { value: "ConfigError" });
  Object.defineProperty(globalThis, "ConfigError", { value: ConfigError });

  Object.defineProperty(globalThis, "matches", {
    value: (pattern, text) => regexMatches(String(pattern), String(text)),
  });

  Object.defineProperty(globalThis, "regex", {
    value(pattern) {
      const source = String(pattern);
      regexCompile(source);
      return Object.freeze({
        pattern: source,
        test: (text) => regexMatches(source, String(text)),
      });
    },
  });

  return deepFreeze;
})
