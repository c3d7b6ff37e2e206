-- The LiveOne point migration as a plain INSERT … SELECT script, one statement per point,
-- for the sqlite3 command-line shell with its default settings: the reference that
-- scripts/bench.sh times `preflight migrate` against. Same rows, same transforms.

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."solar_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_w'
WHERE (r."solar_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."solar_remote_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarinverter_w'
WHERE (r."solar_remote_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."solar_local_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'shunt_w'
WHERE (r."solar_local_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."load_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_w'
WHERE (r."load_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."battery_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_w'
WHERE (r."battery_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."grid_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_w'
WHERE (r."grid_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."battery_soc", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_soc'
WHERE (r."battery_soc") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, COALESCE(r."generator_status", 0), NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gen_status'
WHERE (COALESCE(r."generator_status", 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, ROUND(r."solar_kwh_total" * 1000, 0), NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_wh_total'
WHERE (ROUND(r."solar_kwh_total" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, ROUND(r."load_kwh_total" * 1000, 0), NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_wh_total'
WHERE (ROUND(r."load_kwh_total" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, ROUND(r."battery_in_kwh_total" * 1000, 0), NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_in_wh_total'
WHERE (ROUND(r."battery_in_kwh_total" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, ROUND(r."battery_out_kwh_total" * 1000, 0), NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_out_wh_total'
WHERE (ROUND(r."battery_out_kwh_total" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, ROUND(r."grid_in_kwh_total" * 1000, 0), NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_in_wh_total'
WHERE (ROUND(r."grid_in_kwh_total" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, ROUND(r."grid_out_kwh_total" * 1000, 0), NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_out_wh_total'
WHERE (ROUND(r."grid_out_kwh_total" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, NULL, CAST(NULLIF(r."fault_code", '0') AS TEXT), r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'fault_code'
WHERE (CAST(NULLIF(r."fault_code", '0') AS TEXT)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, NULLIF(r."fault_timestamp", 0) * 1000, NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'fault_ts'
WHERE (NULLIF(r."fault_timestamp", 0) * 1000) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."solar_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarW'
WHERE (r."solar_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."solar_remote_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarRemoteW'
WHERE (r."solar_remote_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."solar_local_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarLocalW'
WHERE (r."solar_local_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."load_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'loadW'
WHERE (r."load_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."battery_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryW'
WHERE (r."battery_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."grid_w", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridW'
WHERE (r."grid_w") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."battery_soc", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batterySOC'
WHERE (r."battery_soc") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."solar_wh_interval", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarWhInterval'
WHERE (r."solar_wh_interval") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."load_wh_interval", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'loadWhInterval'
WHERE (r."load_wh_interval") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."battery_in_wh_interval", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryInWhInterval'
WHERE (r."battery_in_wh_interval") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."battery_out_wh_interval", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryOutWhInterval'
WHERE (r."battery_out_wh_interval") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."grid_in_wh_interval", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridInWhInterval'
WHERE (r."grid_in_wh_interval") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings (system_id, point_id, measurement_time, value, value_str, received_time, data_quality)
SELECT r.system_id, pi.id, r."inverter_time" * 1000, r."grid_out_wh_interval", NULL, r."received_time" * 1000, 'good'
FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridOutWhInterval'
WHERE (r."grid_out_wh_interval") IS NOT NULL
ON CONFLICT DO NOTHING;

-- 5-minute history rolled up from the readings, as the live aggregator does:
-- (end - 300, end], avg not rounded, the last value, samples and NULL values counted
INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."solar_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."solar_w") AS a, min(r."solar_w") AS mn, max(r."solar_w") AS mx, count(r."solar_w") AS n, count(*) - count(r."solar_w") AS e,
        max(CASE WHEN (r."solar_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_w'
      WHERE (r."solar_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."solar_remote_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."solar_remote_w") AS a, min(r."solar_remote_w") AS mn, max(r."solar_remote_w") AS mx, count(r."solar_remote_w") AS n, count(*) - count(r."solar_remote_w") AS e,
        max(CASE WHEN (r."solar_remote_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarinverter_w'
      WHERE (r."solar_remote_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."solar_local_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."solar_local_w") AS a, min(r."solar_local_w") AS mn, max(r."solar_local_w") AS mx, count(r."solar_local_w") AS n, count(*) - count(r."solar_local_w") AS e,
        max(CASE WHEN (r."solar_local_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'shunt_w'
      WHERE (r."solar_local_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."load_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."load_w") AS a, min(r."load_w") AS mn, max(r."load_w") AS mx, count(r."load_w") AS n, count(*) - count(r."load_w") AS e,
        max(CASE WHEN (r."load_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_w'
      WHERE (r."load_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."battery_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."battery_w") AS a, min(r."battery_w") AS mn, max(r."battery_w") AS mx, count(r."battery_w") AS n, count(*) - count(r."battery_w") AS e,
        max(CASE WHEN (r."battery_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_w'
      WHERE (r."battery_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."grid_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."grid_w") AS a, min(r."grid_w") AS mn, max(r."grid_w") AS mx, count(r."grid_w") AS n, count(*) - count(r."grid_w") AS e,
        max(CASE WHEN (r."grid_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_w'
      WHERE (r."grid_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."battery_soc" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."battery_soc") AS a, min(r."battery_soc") AS mn, max(r."battery_soc") AS mx, count(r."battery_soc") AS n, count(*) - count(r."battery_soc") AS e,
        max(CASE WHEN (r."battery_soc") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_soc'
      WHERE (r."battery_soc") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT COALESCE(r2."generator_status", 0) FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(COALESCE(r."generator_status", 0)) AS a, min(COALESCE(r."generator_status", 0)) AS mn, max(COALESCE(r."generator_status", 0)) AS mx, count(COALESCE(r."generator_status", 0)) AS n, count(*) - count(COALESCE(r."generator_status", 0)) AS e,
        max(CASE WHEN (COALESCE(r."generator_status", 0)) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gen_status'
      WHERE (COALESCE(r."generator_status", 0)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT ROUND(r2."solar_kwh_total" * 1000, 0) FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(ROUND(r."solar_kwh_total" * 1000, 0)) AS a, min(ROUND(r."solar_kwh_total" * 1000, 0)) AS mn, max(ROUND(r."solar_kwh_total" * 1000, 0)) AS mx, count(ROUND(r."solar_kwh_total" * 1000, 0)) AS n, count(*) - count(ROUND(r."solar_kwh_total" * 1000, 0)) AS e,
        max(CASE WHEN (ROUND(r."solar_kwh_total" * 1000, 0)) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_wh_total'
      WHERE (ROUND(r."solar_kwh_total" * 1000, 0)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT ROUND(r2."load_kwh_total" * 1000, 0) FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(ROUND(r."load_kwh_total" * 1000, 0)) AS a, min(ROUND(r."load_kwh_total" * 1000, 0)) AS mn, max(ROUND(r."load_kwh_total" * 1000, 0)) AS mx, count(ROUND(r."load_kwh_total" * 1000, 0)) AS n, count(*) - count(ROUND(r."load_kwh_total" * 1000, 0)) AS e,
        max(CASE WHEN (ROUND(r."load_kwh_total" * 1000, 0)) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_wh_total'
      WHERE (ROUND(r."load_kwh_total" * 1000, 0)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT ROUND(r2."battery_in_kwh_total" * 1000, 0) FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(ROUND(r."battery_in_kwh_total" * 1000, 0)) AS a, min(ROUND(r."battery_in_kwh_total" * 1000, 0)) AS mn, max(ROUND(r."battery_in_kwh_total" * 1000, 0)) AS mx, count(ROUND(r."battery_in_kwh_total" * 1000, 0)) AS n, count(*) - count(ROUND(r."battery_in_kwh_total" * 1000, 0)) AS e,
        max(CASE WHEN (ROUND(r."battery_in_kwh_total" * 1000, 0)) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_in_wh_total'
      WHERE (ROUND(r."battery_in_kwh_total" * 1000, 0)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT ROUND(r2."battery_out_kwh_total" * 1000, 0) FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(ROUND(r."battery_out_kwh_total" * 1000, 0)) AS a, min(ROUND(r."battery_out_kwh_total" * 1000, 0)) AS mn, max(ROUND(r."battery_out_kwh_total" * 1000, 0)) AS mx, count(ROUND(r."battery_out_kwh_total" * 1000, 0)) AS n, count(*) - count(ROUND(r."battery_out_kwh_total" * 1000, 0)) AS e,
        max(CASE WHEN (ROUND(r."battery_out_kwh_total" * 1000, 0)) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_out_wh_total'
      WHERE (ROUND(r."battery_out_kwh_total" * 1000, 0)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT ROUND(r2."grid_in_kwh_total" * 1000, 0) FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(ROUND(r."grid_in_kwh_total" * 1000, 0)) AS a, min(ROUND(r."grid_in_kwh_total" * 1000, 0)) AS mn, max(ROUND(r."grid_in_kwh_total" * 1000, 0)) AS mx, count(ROUND(r."grid_in_kwh_total" * 1000, 0)) AS n, count(*) - count(ROUND(r."grid_in_kwh_total" * 1000, 0)) AS e,
        max(CASE WHEN (ROUND(r."grid_in_kwh_total" * 1000, 0)) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_in_wh_total'
      WHERE (ROUND(r."grid_in_kwh_total" * 1000, 0)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT ROUND(r2."grid_out_kwh_total" * 1000, 0) FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(ROUND(r."grid_out_kwh_total" * 1000, 0)) AS a, min(ROUND(r."grid_out_kwh_total" * 1000, 0)) AS mn, max(ROUND(r."grid_out_kwh_total" * 1000, 0)) AS mx, count(ROUND(r."grid_out_kwh_total" * 1000, 0)) AS n, count(*) - count(ROUND(r."grid_out_kwh_total" * 1000, 0)) AS e,
        max(CASE WHEN (ROUND(r."grid_out_kwh_total" * 1000, 0)) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_out_wh_total'
      WHERE (ROUND(r."grid_out_kwh_total" * 1000, 0)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT NULL FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(NULL) AS a, min(NULL) AS mn, max(NULL) AS mx, count(NULL) AS n, count(*) - count(NULL) AS e,
        max(CASE WHEN (NULL) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'fault_code'
      WHERE (CAST(NULLIF(r."fault_code", '0') AS TEXT)) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT NULLIF(r2."fault_timestamp", 0) * 1000 FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(NULLIF(r."fault_timestamp", 0) * 1000) AS a, min(NULLIF(r."fault_timestamp", 0) * 1000) AS mn, max(NULLIF(r."fault_timestamp", 0) * 1000) AS mx, count(NULLIF(r."fault_timestamp", 0) * 1000) AS n, count(*) - count(NULLIF(r."fault_timestamp", 0) * 1000) AS e,
        max(CASE WHEN (NULLIF(r."fault_timestamp", 0) * 1000) IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'fault_ts'
      WHERE (NULLIF(r."fault_timestamp", 0) * 1000) IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."solar_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."solar_w") AS a, min(r."solar_w") AS mn, max(r."solar_w") AS mx, count(r."solar_w") AS n, count(*) - count(r."solar_w") AS e,
        max(CASE WHEN (r."solar_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarW'
      WHERE (r."solar_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."solar_remote_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."solar_remote_w") AS a, min(r."solar_remote_w") AS mn, max(r."solar_remote_w") AS mx, count(r."solar_remote_w") AS n, count(*) - count(r."solar_remote_w") AS e,
        max(CASE WHEN (r."solar_remote_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarRemoteW'
      WHERE (r."solar_remote_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."solar_local_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."solar_local_w") AS a, min(r."solar_local_w") AS mn, max(r."solar_local_w") AS mx, count(r."solar_local_w") AS n, count(*) - count(r."solar_local_w") AS e,
        max(CASE WHEN (r."solar_local_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarLocalW'
      WHERE (r."solar_local_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."load_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."load_w") AS a, min(r."load_w") AS mn, max(r."load_w") AS mx, count(r."load_w") AS n, count(*) - count(r."load_w") AS e,
        max(CASE WHEN (r."load_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'loadW'
      WHERE (r."load_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."battery_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."battery_w") AS a, min(r."battery_w") AS mn, max(r."battery_w") AS mx, count(r."battery_w") AS n, count(*) - count(r."battery_w") AS e,
        max(CASE WHEN (r."battery_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryW'
      WHERE (r."battery_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."grid_w" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."grid_w") AS a, min(r."grid_w") AS mn, max(r."grid_w") AS mx, count(r."grid_w") AS n, count(*) - count(r."grid_w") AS e,
        max(CASE WHEN (r."grid_w") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridW'
      WHERE (r."grid_w") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."battery_soc" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."battery_soc") AS a, min(r."battery_soc") AS mn, max(r."battery_soc") AS mx, count(r."battery_soc") AS n, count(*) - count(r."battery_soc") AS e,
        max(CASE WHEN (r."battery_soc") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batterySOC'
      WHERE (r."battery_soc") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."solar_wh_interval" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."solar_wh_interval") AS a, min(r."solar_wh_interval") AS mn, max(r."solar_wh_interval") AS mx, count(r."solar_wh_interval") AS n, count(*) - count(r."solar_wh_interval") AS e,
        max(CASE WHEN (r."solar_wh_interval") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarWhInterval'
      WHERE (r."solar_wh_interval") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."load_wh_interval" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."load_wh_interval") AS a, min(r."load_wh_interval") AS mn, max(r."load_wh_interval") AS mx, count(r."load_wh_interval") AS n, count(*) - count(r."load_wh_interval") AS e,
        max(CASE WHEN (r."load_wh_interval") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'loadWhInterval'
      WHERE (r."load_wh_interval") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."battery_in_wh_interval" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."battery_in_wh_interval") AS a, min(r."battery_in_wh_interval") AS mn, max(r."battery_in_wh_interval") AS mx, count(r."battery_in_wh_interval") AS n, count(*) - count(r."battery_in_wh_interval") AS e,
        max(CASE WHEN (r."battery_in_wh_interval") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryInWhInterval'
      WHERE (r."battery_in_wh_interval") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."battery_out_wh_interval" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."battery_out_wh_interval") AS a, min(r."battery_out_wh_interval") AS mn, max(r."battery_out_wh_interval") AS mx, count(r."battery_out_wh_interval") AS n, count(*) - count(r."battery_out_wh_interval") AS e,
        max(CASE WHEN (r."battery_out_wh_interval") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryOutWhInterval'
      WHERE (r."battery_out_wh_interval") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."grid_in_wh_interval" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."grid_in_wh_interval") AS a, min(r."grid_in_wh_interval") AS mn, max(r."grid_in_wh_interval") AS mx, count(r."grid_in_wh_interval") AS n, count(*) - count(r."grid_in_wh_interval") AS e,
        max(CASE WHEN (r."grid_in_wh_interval") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridInWhInterval'
      WHERE (r."grid_in_wh_interval") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT g.system_id, g.point_id, g.b * 1000, g.a, g.mn, g.mx,
  (SELECT r2."grid_out_wh_interval" FROM readings AS r2 WHERE r2.system_id = g.system_id AND r2."inverter_time" = g.t_last),
  g.n, g.e, g.rt * 1000, g.rt * 1000
FROM (SELECT r.system_id, pi.id AS point_id, (r."inverter_time" + 299) / 300 * 300 AS b,
        avg(r."grid_out_wh_interval") AS a, min(r."grid_out_wh_interval") AS mn, max(r."grid_out_wh_interval") AS mx, count(r."grid_out_wh_interval") AS n, count(*) - count(r."grid_out_wh_interval") AS e,
        max(CASE WHEN (r."grid_out_wh_interval") IS NOT NULL THEN r."inverter_time" END) AS t_last, max(r."received_time") AS rt
      FROM readings AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
      JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridOutWhInterval'
      WHERE (r."grid_out_wh_interval") IS NOT NULL
      GROUP BY r.system_id, b) AS g
WHERE true
ON CONFLICT DO NOTHING;

-- legacy 5-minute rows only where no reading lies in their interval [end - 300, end]
INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_w_avg", r."solar_w_min", r."solar_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_w'
WHERE ((r."solar_w_avg") IS NOT NULL OR (r."solar_w_min") IS NOT NULL OR (r."solar_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."load_w_avg", r."load_w_min", r."load_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_w'
WHERE ((r."load_w_avg") IS NOT NULL OR (r."load_w_min") IS NOT NULL OR (r."load_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."battery_w_avg", r."battery_w_min", r."battery_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_w'
WHERE ((r."battery_w_avg") IS NOT NULL OR (r."battery_w_min") IS NOT NULL OR (r."battery_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."grid_w_avg", r."grid_w_min", r."grid_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_w'
WHERE ((r."grid_w_avg") IS NOT NULL OR (r."grid_w_min") IS NOT NULL OR (r."grid_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, r."battery_soc_last", r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_soc'
WHERE ((r."battery_soc_last") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."solar_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_wh_total'
WHERE ((ROUND(r."solar_kwh_total_last" * 1000, 0)) IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."load_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_wh_total'
WHERE ((ROUND(r."load_kwh_total_last" * 1000, 0)) IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."battery_in_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_in_wh_total'
WHERE ((ROUND(r."battery_in_kwh_total_last" * 1000, 0)) IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."battery_out_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_out_wh_total'
WHERE ((ROUND(r."battery_out_kwh_total_last" * 1000, 0)) IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."grid_in_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_in_wh_total'
WHERE ((ROUND(r."grid_in_kwh_total_last" * 1000, 0)) IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."grid_out_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_out_wh_total'
WHERE ((ROUND(r."grid_out_kwh_total_last" * 1000, 0)) IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_w_avg", r."solar_w_avg", r."solar_w_avg", r."solar_w_avg", r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'enphase'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_w'
WHERE ((r."solar_w_avg") IS NOT NULL OR (r."solar_w_avg") IS NOT NULL OR (r."solar_w_avg") IS NOT NULL OR (r."solar_w_avg") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_interval_wh", r."solar_interval_wh", r."solar_interval_wh", r."solar_interval_wh", r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'enphase'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_interval_wh'
WHERE ((r."solar_interval_wh") IS NOT NULL OR (r."solar_interval_wh") IS NOT NULL OR (r."solar_interval_wh") IS NOT NULL OR (r."solar_interval_wh") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_w_avg", r."solar_w_min", r."solar_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarW'
WHERE ((r."solar_w_avg") IS NOT NULL OR (r."solar_w_min") IS NOT NULL OR (r."solar_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."load_w_avg", r."load_w_min", r."load_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'loadW'
WHERE ((r."load_w_avg") IS NOT NULL OR (r."load_w_min") IS NOT NULL OR (r."load_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."battery_w_avg", r."battery_w_min", r."battery_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryW'
WHERE ((r."battery_w_avg") IS NOT NULL OR (r."battery_w_min") IS NOT NULL OR (r."battery_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."grid_w_avg", r."grid_w_min", r."grid_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridW'
WHERE ((r."grid_w_avg") IS NOT NULL OR (r."grid_w_min") IS NOT NULL OR (r."grid_w_max") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, r."battery_soc_last", r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batterySOC'
WHERE ((r."battery_soc_last") IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM readings AS f WHERE f.system_id = r.system_id AND f."inverter_time" BETWEEN r."interval_end" - 300 AND r."interval_end")
ON CONFLICT DO NOTHING;
