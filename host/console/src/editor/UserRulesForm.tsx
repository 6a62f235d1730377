// The form of the user-rules settings (policies/user-rules): the ordered rules, each a name, an
// organization and a condition; the fallback; the rule-based groups. Conditions are exactly the
// module's: an attribute, a provider group, an internal group or the e-mail domain, tested with
// equals / equals (ignoring case) / in / regex / present, combined with all, any and not.

import {
  CONDITION_KINDS,
  TEST_KINDS,
  convertCondition,
  convertTest,
  conditionKind,
  freshName,
  join,
  moved,
  newCondition,
  removed,
  replaced,
  testKind,
  testOf,
  type Condition,
  type ConditionKind,
  type RuleGroup,
  type Test,
  type TestKind,
  type UserRule,
  type UserSettings,
} from "./settings";
import type { ComponentChildren } from "preact";
import { Area, Block, ItemTools, ListField, TextField } from "./fields";

const CONDITION_LABEL: Record<ConditionKind, string> = {
  attribute: "attribute",
  provider_group: "provider group",
  internal_group: "internal group",
  email_domain: "e-mail domain",
  all: "all of",
  any: "any of",
  not: "not",
};

const TEST_LABEL: Record<TestKind, string> = {
  equals: "equals",
  equals_ignore_case: "equals (ignoring case)",
  in: "is one of",
  regex: "matches regex",
  present: "present",
};

export function UserRulesForm({ value, onChange }: { value: UserSettings; onChange: (value: UserSettings) => void }) {
  const groups = value.groups ?? [];
  const names = [...value.rules.map((rule) => rule.name), ...groups.map((entry) => entry.name)];
  const setRules = (rules: UserRule[]) => onChange({ ...value, rules });
  const setGroups = (entries: RuleGroup[]) => {
    const { groups: _, ...rest } = value;
    // No entry left: leave the field out, as documents without rule-based groups do.
    onChange(entries.length > 0 ? { ...rest, groups: entries } : rest);
  };
  return (
    <div class="rules-form" data-testid="user-rules-form">
      <Block path="rules" legend="Rules, in order: the first that matches decides the organization" class="list">
        {value.rules.length === 0 && <p class="muted">No rule: every user gets the fallback.</p>}
        {value.rules.map((rule, i) => (
          <Block
            key={i}
            path={join("rules", i)}
            legend={`Rule ${i + 1}${rule.name ? `: ${rule.name}` : ""}`}
            class="rule"
            testId="rule"
            tools={
              <ItemTools
                what={`rule ${i + 1}`}
                index={i}
                count={value.rules.length}
                onMove={(to) => setRules(moved(value.rules, i, to))}
                onRemove={() => setRules(removed(value.rules, i))}
              />
            }
          >
            <div class="grid2">
              <TextField path={`rules[${i}].name`} label="Name" value={rule.name} onChange={(name) => setRules(replaced(value.rules, i, { ...rule, name }))} />
              <TextField
                path={`rules[${i}].organization`}
                label="Organization"
                value={rule.organization}
                onChange={(organization) => setRules(replaced(value.rules, i, { ...rule, organization }))}
              />
            </div>
            <ConditionEditor
              path={`rules[${i}].when`}
              legend="When"
              value={rule.when}
              onChange={(when) => setRules(replaced(value.rules, i, { ...rule, when }))}
            />
          </Block>
        ))}
        <button
          type="button"
          onClick={() => setRules([...value.rules, { name: freshName("rule", names), organization: "", when: newCondition() }])}
        >
          Add rule
        </button>
      </Block>

      <TextField
        path="fallback"
        label="Fallback organization"
        value={value.fallback ?? ""}
        placeholder="none: users no rule matches are blocked"
        hint="For users no rule matches; leave it empty to block them."
        onChange={(fallback) => {
          const { fallback: _, ...rest } = value;
          onChange(fallback === "" ? rest : { ...rest, fallback });
        }}
      />

      <Block path="groups" legend="Rule-based groups: every entry that matches adds its internal group" class="list">
        {groups.length === 0 && <p class="muted">No rule-based group.</p>}
        {groups.map((entry, i) => (
          <Block
            key={i}
            path={join("groups", i)}
            legend={`Group entry ${i + 1}${entry.name ? `: ${entry.name}` : ""}`}
            class="rule"
            testId="group-entry"
            tools={
              <ItemTools
                what={`group entry ${i + 1}`}
                index={i}
                count={groups.length}
                onMove={(to) => setGroups(moved(groups, i, to))}
                onRemove={() => setGroups(removed(groups, i))}
              />
            }
          >
            <div class="grid2">
              <TextField path={`groups[${i}].name`} label="Name" value={entry.name} onChange={(name) => setGroups(replaced(groups, i, { ...entry, name }))} />
              <TextField
                path={`groups[${i}].group`}
                label="Internal group"
                value={entry.group}
                onChange={(group) => setGroups(replaced(groups, i, { ...entry, group }))}
              />
            </div>
            <ConditionEditor
              path={`groups[${i}].when`}
              legend="When"
              value={entry.when}
              onChange={(when) => setGroups(replaced(groups, i, { ...entry, when }))}
            />
          </Block>
        ))}
        <button type="button" onClick={() => setGroups([...groups, { name: freshName("group entry", names), group: "", when: newCondition() }])}>
          Add group entry
        </button>
      </Block>
    </div>
  );
}

function ConditionEditor(props: {
  path: string;
  legend: string;
  value: Condition;
  onChange: (value: Condition) => void;
  tools?: ComponentChildren;
}) {
  const { path, value, onChange } = props;
  const kind = conditionKind(value);
  return (
    <Block
      path={path}
      legend={props.legend}
      class={`condition condition-${kind}`}
      testId="condition"
      tools={props.tools}
      control={
        <select
          class="condition-kind"
          aria-label={`${props.legend}: kind of condition`}
          value={kind}
          onChange={(e) => onChange(convertCondition(value, e.currentTarget.value as ConditionKind))}
        >
          {CONDITION_KINDS.map((option) => (
            <option key={option} value={option}>
              {CONDITION_LABEL[option]}
            </option>
          ))}
        </select>
      }
    >
      {"attribute" in value && (
        <Area class="test-row" path={join(path, "attribute")}>
          <TextField
            path={join(join(path, "attribute"), "name")}
            label="Attribute"
            value={value.attribute.name}
            onChange={(name) => onChange({ attribute: { ...testOf(value.attribute), name } })}
          />
          <TestEditor
            path={join(path, "attribute")}
            value={testOf(value.attribute)}
            onChange={(test) => onChange({ attribute: { name: value.attribute.name, ...test } })}
            inline
          />
        </Area>
      )}
      {"provider_group" in value && (
        <TestEditor path={join(path, "provider_group")} value={value.provider_group} onChange={(test) => onChange({ provider_group: test })} />
      )}
      {"internal_group" in value && (
        <TestEditor path={join(path, "internal_group")} value={value.internal_group} onChange={(test) => onChange({ internal_group: test })} />
      )}
      {"email_domain" in value && (
        <TestEditor
          path={join(path, "email_domain")}
          value={value.email_domain}
          onChange={(test) => onChange({ email_domain: test })}
        />
      )}
      {"all" in value && <ConditionList path={join(path, "all")} list={value.all} onChange={(all) => onChange({ all })} />}
      {"any" in value && <ConditionList path={join(path, "any")} list={value.any} onChange={(any) => onChange({ any })} />}
      {"not" in value && (
        <div class="condition-list">
          <ConditionEditor path={join(path, "not")} legend="Must not match" value={value.not} onChange={(not) => onChange({ not })} />
        </div>
      )}
    </Block>
  );
}

function ConditionList(props: { path: string; list: Condition[]; onChange: (list: Condition[]) => void }) {
  const { path, list, onChange } = props;
  return (
    <Area class="condition-list" path={path}>
      {list.map((condition, i) => (
        <ConditionEditor
          key={i}
          path={join(path, i)}
          legend={`Condition ${i + 1}`}
          value={condition}
          onChange={(changed) => onChange(replaced(list, i, changed))}
          tools={
            <ItemTools
              what={`condition ${i + 1} of ${path}`}
              index={i}
              count={list.length}
              onMove={(to) => onChange(moved(list, i, to))}
              onRemove={() => onChange(removed(list, i))}
            />
          }
        />
      ))}
      <button type="button" onClick={() => onChange([...list, newCondition()])}>
        Add condition
      </button>
    </Area>
  );
}

/** A test; `path` is the object holding it (`….provider_group`, or `….attribute`, where it sits
 *  beside the name: then `inline`, and the attribute's block shows that path's refusals). */
function TestEditor(props: { path: string; value: Test; onChange: (test: Test) => void; hint?: string; inline?: boolean }) {
  const { path, value, onChange } = props;
  const kind = testKind(value);
  const fields = (
    <>
      <label class="inline-label">
        Test
        <select value={kind} onChange={(e) => onChange(convertTest(value, e.currentTarget.value as TestKind))}>
          {TEST_KINDS.map((option) => (
            <option key={option} value={option}>
              {TEST_LABEL[option]}
            </option>
          ))}
        </select>
      </label>
      {"in" in value && (
        <ListField path={join(path, "in")} label="Values (one per line)" values={value.in} onChange={(values) => onChange({ in: values })} hint={props.hint} />
      )}
      {"present" in value && (
        <Area class="field" path={join(path, "present")}>
          <label class="inline-label">
            Values
            <select value={String(value.present)} onChange={(e) => onChange({ present: e.currentTarget.value === "true" })}>
              <option value="true">at least one</option>
              <option value="false">none</option>
            </select>
          </label>
        </Area>
      )}
      {(["equals", "equals_ignore_case", "regex"] as const).map(
        (text) =>
          text in value && (
            <TextField
              key={text}
              path={join(path, text)}
              label={text === "regex" ? "Regular expression" : "Value"}
              mono={text === "regex"}
              value={(value as Record<typeof text, string>)[text]}
              onChange={(changed) => onChange({ [text]: changed } as Test)}
              hint={text === "regex" ? "Found anywhere in a value; ^…$ for a whole value." : props.hint}
            />
          ),
      )}
    </>
  );
  return props.inline ? (
    <div class="test">{fields}</div>
  ) : (
    <Area class="test" path={path}>
      {fields}
    </Area>
  );
}
