// What a function's measured use would cost on AWS Lambda, at AWS's published on-demand
// prices (us-east-1, before the free tier), beside an always-on instance.
export const PRICES = {
  requestPerMillion: 0.2,
  gbSecond: { x86_64: 0.0000166667, arm64: 0.0000133334 },
};
// The seed documents' table: an EC2 spot instance with its EBS volume, per month.
export const ALWAYS_ON_MONTHLY = 41.50892;
const SECONDS_PER_MONTH = 30 * 24 * 3600;

// requests and summed duration (ms) measured over `windowSeconds`, for `memoryMb`.
export function estimate(requests, durationMsSum, memoryMb, windowSeconds) {
  const gbSeconds = (durationMsSum / 1000) * (memoryMb / 1024);
  const scale = SECONDS_PER_MONTH / windowSeconds;
  const monthRequests = requests * scale;
  const monthGbSeconds = gbSeconds * scale;
  const requestCost = (monthRequests / 1e6) * PRICES.requestPerMillion;
  return {
    requests, gbSeconds, monthRequests, monthGbSeconds,
    x86_64: requestCost + monthGbSeconds * PRICES.gbSecond.x86_64,
    arm64: requestCost + monthGbSeconds * PRICES.gbSecond.arm64,
    alwaysOn: ALWAYS_ON_MONTHLY,
  };
}
