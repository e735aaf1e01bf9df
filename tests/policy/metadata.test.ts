/** Every policy tells reviewers how much a violation matters and why, with a link to read more. */
import { policies, registry } from "../../policy/policies";

test("every policy has a severity, a one-line rationale and an https link", () => {
  expect(policies.length).toBeGreaterThan(40);
  for (const p of policies) {
    const m = registry.get(p.name)!;
    expect([p.name, m.severity]).toEqual([
      p.name,
      expect.stringMatching(/^(critical|high|medium|low)$/),
    ]);
    expect([p.name, /^[^\n]{20,160}$/.test(m.rationale)]).toEqual([p.name, true]);
    expect([p.name, new URL(m.link).protocol]).toEqual([p.name, "https:"]);
  }
});
