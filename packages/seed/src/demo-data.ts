/** One product of the demo catalog. Prices are EUR minor units (cents). */
export interface DemoProduct {
  /** Stable SKU: what makes re-seeding idempotent. */
  sku: string;
  name: string;
  description: string;
  priceCents: number;
  stock: number;
  attributes?: Record<string, string>;
}

/** A node of the demo category tree: children, products, or both. */
export interface DemoCategory {
  name: string;
  children?: DemoCategory[];
  products?: DemoProduct[];
}

const p = (
  sku: string,
  name: string,
  description: string,
  priceCents: number,
  stock: number,
  attributes?: Record<string, string>,
): DemoProduct => ({
  sku,
  name,
  description,
  priceCents,
  stock,
  ...(attributes ? { attributes } : {}),
});

/** The demo catalog: three levels deep (3 roots, 7 groups, 16 leaves), 64 products. */
export const demoCatalog: DemoCategory[] = [
  {
    name: 'Electronics',
    children: [
      {
        name: 'Phones',
        children: [
          {
            name: 'Smartphones',
            products: [
              p(
                'DEMO-PHN-001',
                'Nimbus X5 Smartphone 128 GB',
                '6.1" OLED display, dual camera, all-day battery.',
                49900,
                25,
                { colour: 'graphite', storage: '128 GB' },
              ),
              p(
                'DEMO-PHN-002',
                'Nimbus X5 Pro Smartphone 256 GB',
                '6.7" 120 Hz OLED, triple camera with 5x zoom.',
                89900,
                12,
                { colour: 'silver', storage: '256 GB' },
              ),
              p(
                'DEMO-PHN-003',
                'Orbit Lite 5G',
                'Affordable 5G phone with a 5000 mAh battery.',
                22900,
                40,
                { colour: 'blue' },
              ),
              p(
                'DEMO-PHN-004',
                'Orbit Fold 2',
                'Foldable phone that opens into a 7.6" tablet.',
                149900,
                0,
                { colour: 'black' },
              ),
            ],
          },
          {
            name: 'Phone Accessories',
            products: [
              p(
                'DEMO-PAC-001',
                'Silicone Case for Nimbus X5',
                'Soft-touch silicone with a microfibre lining.',
                2499,
                120,
                { colour: 'sage' },
              ),
              p(
                'DEMO-PAC-002',
                '30 W USB-C Charger',
                'Compact GaN charger with fast-charge support.',
                2999,
                80,
              ),
              p(
                'DEMO-PAC-003',
                'Tempered Glass Screen Protector (2-pack)',
                '9H hardness, bubble-free installation frame.',
                1499,
                200,
              ),
              p(
                'DEMO-PAC-004',
                'Magnetic Wireless Charging Pad',
                '15 W Qi2 charging with a braided cable.',
                3999,
                35,
              ),
            ],
          },
        ],
      },
      {
        name: 'Audio',
        children: [
          {
            name: 'Headphones',
            products: [
              p(
                'DEMO-HPH-001',
                'Hush 700 Noise-Cancelling Headphones',
                'Over-ear, adaptive ANC, 30-hour battery.',
                29900,
                18,
                { colour: 'black' },
              ),
              p(
                'DEMO-HPH-002',
                'Pulse Buds True Wireless Earbuds',
                'IPX4 earbuds with a pocket charging case.',
                7999,
                60,
                { colour: 'white' },
              ),
              p(
                'DEMO-HPH-003',
                'Studio Monitor Headphones MH-40',
                'Closed-back reference headphones for mixing.',
                14900,
                9,
              ),
              p(
                'DEMO-HPH-004',
                'Kids Volume-Limited Headphones',
                'Capped at 85 dB, bendable headband.',
                2499,
                45,
                { colour: 'orange' },
              ),
            ],
          },
          {
            name: 'Speakers',
            products: [
              p(
                'DEMO-SPK-001',
                'Boom Mini Bluetooth Speaker',
                'Waterproof pocket speaker with a strap.',
                3999,
                70,
                { colour: 'teal' },
              ),
              p(
                'DEMO-SPK-002',
                'Atmos Soundbar 5.1',
                'Soundbar with wireless subwoofer and HDMI eARC.',
                44900,
                6,
              ),
              p(
                'DEMO-SPK-003',
                'Bookshelf Speakers B2 (pair)',
                'Passive two-way speakers with walnut veneer.',
                27900,
                11,
              ),
              p(
                'DEMO-SPK-004',
                'Smart Home Speaker',
                'Voice assistant, room-filling 360° sound.',
                9900,
                30,
              ),
            ],
          },
        ],
      },
      {
        name: 'Computers',
        children: [
          {
            name: 'Laptops',
            products: [
              p(
                'DEMO-LAP-001',
                'Aero 14 Ultrabook',
                '14" 2.8K display, 16 GB RAM, 1 TB SSD, 1.2 kg.',
                129900,
                8,
                { ram: '16 GB' },
              ),
              p(
                'DEMO-LAP-002',
                'Forge 16 Gaming Laptop',
                'RTX graphics, 240 Hz screen, per-key RGB.',
                189900,
                4,
                { ram: '32 GB' },
              ),
              p(
                'DEMO-LAP-003',
                'Campus 13 Chromebook',
                'Light and durable, 12-hour battery.',
                34900,
                22,
                { ram: '8 GB' },
              ),
              p(
                'DEMO-LAP-004',
                'Aero 14 Sleeve',
                'Padded recycled-felt sleeve with a pocket.',
                3499,
                50,
              ),
            ],
          },
          {
            name: 'Monitors',
            products: [
              p(
                'DEMO-MON-001',
                'ClearView 27" 4K Monitor',
                'IPS, USB-C 90 W power delivery, height-adjustable.',
                42900,
                14,
              ),
              p(
                'DEMO-MON-002',
                'ClearView 24" Office Monitor',
                'Full HD, flicker-free, built-in speakers.',
                14900,
                33,
              ),
              p(
                'DEMO-MON-003',
                'Arc 34" Curved Ultrawide',
                '3440x1440, 144 Hz, 1500R curve.',
                59900,
                5,
              ),
              p(
                'DEMO-MON-004',
                'Dual Monitor Desk Arm',
                'Gas-spring arm for two 17–32" screens.',
                8999,
                19,
              ),
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'Home & Kitchen',
    children: [
      {
        name: 'Cookware',
        children: [
          {
            name: 'Pans',
            products: [
              p(
                'DEMO-PAN-001',
                'Cast Iron Skillet 28 cm',
                'Pre-seasoned, oven-safe to 260 °C.',
                4999,
                28,
              ),
              p(
                'DEMO-PAN-002',
                'Non-Stick Frying Pan 24 cm',
                'PFAS-free ceramic coating, induction base.',
                3499,
                55,
              ),
              p(
                'DEMO-PAN-003',
                'Carbon Steel Wok 32 cm',
                'Hand-hammered wok with a wooden handle.',
                5999,
                16,
              ),
              p(
                'DEMO-PAN-004',
                'Stainless Sauté Pan with Lid',
                'Tri-ply, 3.5 litres, dishwasher-safe.',
                8999,
                12,
              ),
            ],
          },
          {
            name: 'Pots',
            products: [
              p(
                'DEMO-POT-001',
                'Enamelled Dutch Oven 5.2 L',
                'Cast iron casserole for braising and bread.',
                17900,
                10,
                { colour: 'cherry' },
              ),
              p(
                'DEMO-POT-002',
                'Stockpot 8 L',
                'Stainless steel with an encapsulated base.',
                5499,
                20,
              ),
              p(
                'DEMO-POT-003',
                'Saucepan Set (3 pieces)',
                '16, 18 and 20 cm with glass lids.',
                7999,
                15,
              ),
              p(
                'DEMO-POT-004',
                'Pressure Cooker 6 L',
                'Two pressure settings, triple safety valve.',
                9999,
                7,
              ),
            ],
          },
          {
            name: 'Kitchen Knives',
            products: [
              p('DEMO-KNF-001', "Chef's Knife 20 cm", 'Forged German steel, full tang.', 7999, 26),
              p(
                'DEMO-KNF-002',
                'Santoku Knife 18 cm',
                'Hollow-ground edge that releases food.',
                6499,
                18,
              ),
              p(
                'DEMO-KNF-003',
                'Paring Knife 9 cm',
                'For peeling and fine cutting work.',
                1999,
                60,
              ),
              p(
                'DEMO-KNF-004',
                'Magnetic Knife Strip 40 cm',
                'Acacia wood strip with strong magnets.',
                3499,
                30,
              ),
            ],
          },
        ],
      },
      {
        name: 'Furniture',
        children: [
          {
            name: 'Chairs',
            products: [
              p(
                'DEMO-CHR-001',
                'ErgoFlex Office Chair',
                'Mesh back, adjustable lumbar support and armrests.',
                34900,
                9,
              ),
              p(
                'DEMO-CHR-002',
                'Oak Dining Chair (set of 2)',
                'Solid oak with a woven paper-cord seat.',
                29900,
                6,
              ),
              p(
                'DEMO-CHR-003',
                'Lounge Armchair',
                'Boucle upholstery on a beech frame.',
                49900,
                3,
                { colour: 'cream' },
              ),
              p(
                'DEMO-CHR-004',
                'Folding Stool',
                'Space-saving stool, holds up to 120 kg.',
                2999,
                40,
              ),
            ],
          },
          {
            name: 'Desks',
            products: [
              p(
                'DEMO-DSK-001',
                'Electric Standing Desk 140x70',
                'Dual motor, memory presets, anti-collision.',
                49900,
                8,
              ),
              p(
                'DEMO-DSK-002',
                'Compact Writing Desk',
                'Birch plywood desk with a cable tray.',
                19900,
                12,
              ),
              p(
                'DEMO-DSK-003',
                'Corner Gaming Desk',
                'L-shaped desk with a carbon-fibre texture top.',
                27900,
                4,
              ),
              p(
                'DEMO-DSK-004',
                'Desk Organiser Set',
                'Bamboo trays for pens, notes and devices.',
                2499,
                65,
              ),
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'Sports & Outdoors',
    children: [
      {
        name: 'Running',
        children: [
          {
            name: 'Running Shoes',
            products: [
              p(
                'DEMO-RSH-001',
                'Trail Runner 2 Shoe',
                'Grippy lugged outsole and a rock plate.',
                12999,
                30,
                { size: 'EU 36–47' },
              ),
              p(
                'DEMO-RSH-002',
                'Road Racer Carbon',
                'Carbon-plated racing shoe, 190 g.',
                21999,
                10,
              ),
              p(
                'DEMO-RSH-003',
                'Daily Cushion Trainer',
                'Soft foam trainer for easy miles.',
                9999,
                45,
              ),
              p(
                'DEMO-RSH-004',
                'Kids Running Shoe',
                'Hook-and-loop strap, reflective details.',
                4999,
                25,
              ),
            ],
          },
          {
            name: 'Running Apparel',
            products: [
              p(
                'DEMO-RAP-001',
                'Lightweight Running Jacket',
                'Packable wind and shower-proof shell.',
                8999,
                20,
                { colour: 'yellow' },
              ),
              p(
                'DEMO-RAP-002',
                'Merino Running Tee',
                'Odour-resistant merino wool blend.',
                5499,
                35,
              ),
              p(
                'DEMO-RAP-003',
                'Running Tights with Pockets',
                'Compressive fit, phone pocket on the thigh.',
                6499,
                28,
              ),
              p('DEMO-RAP-004', 'Hydration Vest 5 L', 'Two soft flasks included.', 10999, 11),
            ],
          },
        ],
      },
      {
        name: 'Camping',
        children: [
          {
            name: 'Tents',
            products: [
              p(
                'DEMO-TNT-001',
                'Summit 2 Backpacking Tent',
                'Two-person freestanding tent, 1.6 kg.',
                32900,
                7,
              ),
              p(
                'DEMO-TNT-002',
                'Family Dome Tent 6',
                'Six-person tent with two bedrooms.',
                44900,
                3,
              ),
              p(
                'DEMO-TNT-003',
                'Ultralight Tarp 3x3 m',
                'Silnylon tarp with eight tie-outs.',
                8999,
                18,
              ),
              p(
                'DEMO-TNT-004',
                'Tent Footprint for Summit 2',
                'Protects the floor from abrasion.',
                3999,
                22,
              ),
            ],
          },
          {
            name: 'Sleeping Bags',
            products: [
              p(
                'DEMO-SLB-001',
                'Down Sleeping Bag −5 °C',
                '700-fill responsibly sourced down.',
                34900,
                6,
              ),
              p(
                'DEMO-SLB-002',
                'Synthetic Sleeping Bag +5 °C',
                'Stays warm when damp; machine-washable.',
                9999,
                24,
              ),
              p(
                'DEMO-SLB-003',
                'Self-Inflating Sleeping Mat',
                'R-value 4.2, 5 cm thick.',
                7999,
                19,
              ),
              p(
                'DEMO-SLB-004',
                'Camping Pillow',
                'Inflatable pillow with a brushed cover.',
                1999,
                50,
              ),
            ],
          },
          {
            name: 'Camp Kitchen',
            products: [
              p(
                'DEMO-CMK-001',
                'Compact Gas Stove',
                'Piezo ignition, boils a litre in 3.5 minutes.',
                4999,
                21,
              ),
              p(
                'DEMO-CMK-002',
                'Titanium Cook Pot 750 ml',
                'Weighs 100 g, doubles as a mug.',
                3999,
                27,
              ),
              p(
                'DEMO-CMK-003',
                'Insulated Water Bottle 1 L',
                'Keeps drinks cold for 24 hours.',
                2999,
                80,
              ),
              p(
                'DEMO-CMK-004',
                'Camping Cutlery Set',
                'Stainless fork, knife and spoon in a pouch.',
                1499,
                90,
              ),
            ],
          },
        ],
      },
    ],
  },
];
