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

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_w_avg", r."solar_w_min", r."solar_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_w'
WHERE (r."solar_w_avg") IS NOT NULL OR (r."solar_w_min") IS NOT NULL OR (r."solar_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."load_w_avg", r."load_w_min", r."load_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_w'
WHERE (r."load_w_avg") IS NOT NULL OR (r."load_w_min") IS NOT NULL OR (r."load_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."battery_w_avg", r."battery_w_min", r."battery_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_w'
WHERE (r."battery_w_avg") IS NOT NULL OR (r."battery_w_min") IS NOT NULL OR (r."battery_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."grid_w_avg", r."grid_w_min", r."grid_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_w'
WHERE (r."grid_w_avg") IS NOT NULL OR (r."grid_w_min") IS NOT NULL OR (r."grid_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, r."battery_soc_last", r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_soc'
WHERE (r."battery_soc_last") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."solar_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_wh_total'
WHERE (ROUND(r."solar_kwh_total_last" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."load_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'load_wh_total'
WHERE (ROUND(r."load_kwh_total_last" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."battery_in_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_in_wh_total'
WHERE (ROUND(r."battery_in_kwh_total_last" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."battery_out_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'battery_out_wh_total'
WHERE (ROUND(r."battery_out_kwh_total_last" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."grid_in_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_in_wh_total'
WHERE (ROUND(r."grid_in_kwh_total_last" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, ROUND(r."grid_out_kwh_total_last" * 1000, 0), r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'selectronic'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'grid_out_wh_total'
WHERE (ROUND(r."grid_out_kwh_total_last" * 1000, 0)) IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_w_avg", r."solar_w_min", r."solar_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'enphase'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_w'
WHERE (r."solar_w_avg") IS NOT NULL OR (r."solar_w_min") IS NOT NULL OR (r."solar_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_interval_wh", r."solar_interval_wh", r."solar_interval_wh", r."solar_interval_wh", r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'enphase'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solar_interval_wh'
WHERE (r."solar_interval_wh") IS NOT NULL OR (r."solar_interval_wh") IS NOT NULL OR (r."solar_interval_wh") IS NOT NULL OR (r."solar_interval_wh") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."solar_w_avg", r."solar_w_min", r."solar_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'solarW'
WHERE (r."solar_w_avg") IS NOT NULL OR (r."solar_w_min") IS NOT NULL OR (r."solar_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."load_w_avg", r."load_w_min", r."load_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'loadW'
WHERE (r."load_w_avg") IS NOT NULL OR (r."load_w_min") IS NOT NULL OR (r."load_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."battery_w_avg", r."battery_w_min", r."battery_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batteryW'
WHERE (r."battery_w_avg") IS NOT NULL OR (r."battery_w_min") IS NOT NULL OR (r."battery_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, r."grid_w_avg", r."grid_w_min", r."grid_w_max", NULL, r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'gridW'
WHERE (r."grid_w_avg") IS NOT NULL OR (r."grid_w_min") IS NOT NULL OR (r."grid_w_max") IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO point_readings_agg_5m (system_id, point_id, interval_end, avg, min, max, last, sample_count, error_count, created_at, updated_at)
SELECT r.system_id, pi.id, r."interval_end" * 1000, NULL, NULL, NULL, r."battery_soc_last", r."sample_count", 0, r."created_at" * 1000, r."created_at" * 1000
FROM readings_agg_5m AS r JOIN systems AS s ON s.id = r.system_id AND s.vendor_type = 'fronius'
JOIN point_info AS pi ON pi.system_id = r.system_id AND pi.origin_sub_id = 'batterySOC'
WHERE (r."battery_soc_last") IS NOT NULL
ON CONFLICT DO NOTHING;
