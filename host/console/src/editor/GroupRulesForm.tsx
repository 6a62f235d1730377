// The form of the group-rules settings (policies/group-rules): the ordered regex mappings from a
// provider group's name to the organizations it is marked with (for each group the first rule
// whose pattern matches decides), and the fallback organizations.

import { Block, ItemTools, ListField, TextField } from "./fields";
import { freshName, join, moved, removed, replaced, type GroupRule, type GroupSettings } from "./settings";

export function GroupRulesForm({ value, onChange }: { value: GroupSettings; onChange: (value: GroupSettings) => void }) {
  const setRules = (rules: GroupRule[]) => onChange({ ...value, rules });
  return (
    <div class="rules-form" data-testid="group-rules-form">
      <Block path="rules" legend="Rules, in order: for each provider group the first whose pattern matches decides" class="list">
        {value.rules.length === 0 && <p class="muted">No rule: every provider group gets the fallback.</p>}
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
                path={`rules[${i}].pattern`}
                label="Pattern (regular expression)"
                mono
                value={rule.pattern}
                hint="Searched anywhere in the group's name: anchor it with ^…$, escape a dot as \."
                onChange={(pattern) => setRules(replaced(value.rules, i, { ...rule, pattern }))}
              />
            </div>
            <ListField
              path={`rules[${i}].organizations`}
              label="Organizations (one per line)"
              values={rule.organizations}
              onChange={(organizations) => setRules(replaced(value.rules, i, { ...rule, organizations }))}
            />
          </Block>
        ))}
        <button
          type="button"
          onClick={() =>
            setRules([...value.rules, { name: freshName("rule", value.rules.map((rule) => rule.name)), pattern: "", organizations: [] }])
          }
        >
          Add rule
        </button>
      </Block>
      <ListField
        path="fallback"
        label="Fallback organizations (one per line)"
        values={value.fallback ?? []}
        hint="For provider groups no rule matches; leave it empty for No organization."
        onChange={(fallback) => {
          const { fallback: _, ...rest } = value;
          onChange(fallback.length > 0 ? { ...rest, fallback } : rest);
        }}
      />
    </div>
  );
}
