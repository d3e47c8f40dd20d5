// The seed's load test: ramp to 150 virtual users booking through the frontend's /api/book.
// Thresholds: p95 < 500 ms, errors < 10 %. Targets loopback by default; BASE_URL points it at a
// cluster unchanged. Every request carries its own Idempotency-Key (a new booking each time).
//   k6 run -e BASE_URL=http://127.0.0.1:8000 -e EVENT_ID=1 load/booking.js
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:8000';
const EVENT_ID = Number(__ENV.EVENT_ID || 1);
const THINK = Number(__ENV.THINK_SECONDS || 0.1);

export const options = {
  stages: [
    { duration: __ENV.RAMP || '30s', target: 150 },
    { duration: __ENV.HOLD || '30s', target: 150 },
    { duration: __ENV.RAMP_DOWN || '10s', target: 0 },
  ],
  thresholds: {
    http_req_duration: ['p(95)<500'],
    http_req_failed: ['rate<0.1'],
  },
};

export default function () {
  const body = JSON.stringify({ event_id: EVENT_ID, user_id: `k6-${__VU}`, ticket_count: 1 });
  const res = http.post(`${BASE}/api/book`, body, {
    headers: { 'Content-Type': 'application/json', 'Idempotency-Key': `k6-${__VU}-${__ITER}-${Date.now()}` },
  });
  check(res, { 'accepted (202)': (r) => r.status === 202 });
  sleep(THINK);
}
