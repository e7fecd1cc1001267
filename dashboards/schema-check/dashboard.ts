// The type a dashboard file must have: Grafana's own published schema
// (@grafana/schema, pinned in package.json), with three mechanical changes:
//
// 1. Json<T>: Grafana's types name some string values through an enum
//    (ThresholdsMode.Absolute); a JSON file has the string itself
//    ("absolute"). Json<T> is T with every enum replaced by the union of
//    its values and nothing else changed, so T's required fields, value
//    types and excess-property checks all still apply.
// 2. Panels by plugin: the schema types a panel's `options` and
//    `fieldConfig.defaults.custom` as "any object"; the plugin's own
//    published Options and FieldConfig say which keys exist. Those are
//    checked with every key optional (Grafana fills in defaults for what a
//    panel leaves out) and none unknown. A panel type not listed here fails:
//    add its plugin's types when the dashboard starts using one.
// 3. Grafana's export wrapper (`__inputs`, `__requires`), which its
//    "Export for sharing externally" writes and its import reads, is not
//    part of the dashboard schema; its shape is typed here.
// 4. A query variable's `definition` (the query as the variable list shows
//    it), which Grafana writes and its v2 schema has (QueryVariableSpec)
//    but the v1 VariableModel lacks, is allowed with the v2 schema's type.

import type {
  Dashboard,
  FieldConfig,
  FieldConfigSource,
  Panel,
  RowPanel,
  VariableModel,
} from '@grafana/schema';
import type { QueryVariableSpec } from '@grafana/schema/apis/dashboard.grafana.app/v2';
import type * as BarChart from '@grafana/schema/dist/esm/raw/composable/barchart/panelcfg/x/BarChartPanelCfg_types.gen';
import type * as BarGauge from '@grafana/schema/dist/esm/raw/composable/bargauge/panelcfg/x/BarGaugePanelCfg_types.gen';
import type * as Gauge from '@grafana/schema/dist/esm/raw/composable/gauge/panelcfg/x/GaugePanelCfg_types.gen';
import type * as Heatmap from '@grafana/schema/dist/esm/raw/composable/heatmap/panelcfg/x/HeatmapPanelCfg_types.gen';
import type * as Histogram from '@grafana/schema/dist/esm/raw/composable/histogram/panelcfg/x/HistogramPanelCfg_types.gen';
import type * as PieChart from '@grafana/schema/dist/esm/raw/composable/piechart/panelcfg/x/PieChartPanelCfg_types.gen';
import type * as Stat from '@grafana/schema/dist/esm/raw/composable/stat/panelcfg/x/StatPanelCfg_types.gen';
import type * as StateTimeline from '@grafana/schema/dist/esm/raw/composable/statetimeline/panelcfg/x/StateTimelinePanelCfg_types.gen';
import type * as StatusHistory from '@grafana/schema/dist/esm/raw/composable/statushistory/panelcfg/x/StatusHistoryPanelCfg_types.gen';
import type * as Table from '@grafana/schema/dist/esm/raw/composable/table/panelcfg/x/TablePanelCfg_types.gen';
import type * as Text from '@grafana/schema/dist/esm/raw/composable/text/panelcfg/x/TextPanelCfg_types.gen';
import type * as TimeSeries from '@grafana/schema/dist/esm/raw/composable/timeseries/panelcfg/x/TimeSeriesPanelCfg_types.gen';

/** T as JSON spells it: enums become their values (change 1). */
type Json<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Json<U>>
      : T extends object
        ? { [K in keyof T]: Json<T[K]> }
        : T;

/** Json<T> with every key optional, at every depth (change 2). */
type Defaulted<T> = T extends string
  ? `${T}`
  : T extends number | boolean | null | undefined
    ? T
    : T extends ReadonlyArray<infer U>
      ? Array<Defaulted<U>>
      : T extends object
        ? { [K in keyof T]?: Defaulted<T[K]> }
        : T;

/** A plugin without field options of its own allows no `custom` keys. */
type NoCustom = Record<string, never>;

/** A panel of plugin `Id`, its options `O` and its field options `F`. */
type PanelOf<Id extends string, O, F = NoCustom> = Omit<
  Json<Panel>,
  'type' | 'options' | 'fieldConfig'
> & {
  type: Id;
  options?: Defaulted<O>;
  fieldConfig?: Omit<Json<FieldConfigSource>, 'defaults'> & {
    defaults: Omit<Json<FieldConfig>, 'custom'> & { custom?: Defaulted<F> };
  };
};

/** A row; a collapsed one holds its panels. */
interface Row extends Omit<Json<RowPanel>, 'panels'> {
  panels?: AnyPanel[];
}

/** The panel plugins this check knows, by their `type`. */
type AnyPanel =
  | Row
  | PanelOf<'barchart', BarChart.Options, BarChart.FieldConfig>
  | PanelOf<'bargauge', BarGauge.Options>
  | PanelOf<'gauge', Gauge.Options>
  | PanelOf<'heatmap', Heatmap.Options, Heatmap.FieldConfig>
  | PanelOf<'histogram', Histogram.Options, Histogram.FieldConfig>
  | PanelOf<'piechart', PieChart.Options, PieChart.FieldConfig>
  | PanelOf<'stat', Stat.Options>
  | PanelOf<'state-timeline', StateTimeline.Options, StateTimeline.FieldConfig>
  | PanelOf<'status-history', StatusHistory.Options, StatusHistory.FieldConfig>
  | PanelOf<'table', Table.Options, Table.FieldConfig>
  | PanelOf<'text', Text.Options>
  | PanelOf<'timeseries', TimeSeries.Options, TimeSeries.FieldConfig>;

/** A template variable (change 4). */
type Variable = Json<VariableModel> & { definition?: QueryVariableSpec['definition'] };

/** One input of an exported dashboard, e.g. the data source to pick at import (change 3). */
interface ExportInput {
  name: string;
  label: string;
  description?: string;
  type: 'datasource' | 'constant';
  pluginId?: string;
  pluginName?: string;
  value?: string;
}

/** What an exported dashboard needs installed. */
interface ExportRequirement {
  type: 'grafana' | 'datasource' | 'panel';
  id: string;
  name: string;
  version: string;
}

/** A dashboard file as this repository ships it. */
export type DashboardFile = Omit<Json<Dashboard>, 'panels' | 'templating'> & {
  panels?: AnyPanel[];
  templating?: { list?: Variable[] };
  __inputs?: ExportInput[];
  __requires?: ExportRequirement[];
};
