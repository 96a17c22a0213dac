// Shapes shared by more than one Cutover kind.
import { PATH, duration, enumOf, int32, list, named, rule, type JSONSchemaProps } from '../schema.js';

export function trafficSteps(description: string, defaultSteps?: number[]): JSONSchemaProps {
  return list(
    description,
    int32('Percentage of traffic on the new version at this step.', { minimum: 1, maximum: 100 }),
    {
      minItems: 1,
      maxItems: 20,
      default: defaultSteps,
      rules: [
        // isSorted alone admits duplicates, and a repeated step would hold the
        // same weight twice; indexOf == lastIndexOf rules them out.
        rule(
          'self.isSorted() && self.all(x, self.indexOf(x) == self.lastIndexOf(x))',
          `${PATH} must be strictly increasing, e.g. [10, 25, 50, 100]`,
        ),
        rule(
          'self.size() == 0 || self[self.size() - 1] == 100',
          `${PATH} must end at 100 so the new version ends up with all traffic`,
        ),
      ],
    },
  );
}

export function stepDuration(description: string, defaultValue?: string): JSONSchemaProps {
  return duration(description, { default: defaultValue, atLeast: '1s' });
}

export const SLOTS = ['blue', 'green'] as const;

export function slot(description: string): JSONSchemaProps {
  return named('Slot', enumOf(description, SLOTS));
}
