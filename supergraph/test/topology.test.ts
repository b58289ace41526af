import { readSupergraphConfig } from '@shop/supergraph';
import { DOMAINS, localSubgraphUrl } from '@shop/platform/topology';
import path from 'node:path';

describe("supergraph.yaml (rover's format, so a copy of the topology)", () => {
  it('lists every subgraph of the topology, in its order, at its local port', () => {
    const config = readSupergraphConfig(path.resolve(__dirname, '../../supergraph.yaml'));
    expect(config.subgraphs.map((s) => [s.name, s.routingUrl])).toEqual(
      DOMAINS.map((d) => [d.subgraph, localSubgraphUrl(d.subgraph)]),
    );
  });
});
