// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";

/// @title Veil token
/// @notice The network's ERC-20: staked in pools and paid to workers as mining rewards. The supply is
/// capped. Apart from an optional genesis allocation minted at construction (so that the first pools can
/// be staked at all), new tokens come only from the minter, the Rewards contract.
/// @dev The owner's single power is to name the minter, once; doing so renounces ownership, so after
/// deployment nobody but the minter can ever change the supply.
contract VeilToken is ERC20Capped, Ownable {
    /// @notice The only account allowed to mint (the Rewards contract); zero until set.
    address public minter;

    event MinterSet(address indexed minter);

    error NotMinter(address account);
    error MinterAlreadySet(address minter);
    error InvalidMinter();

    /// @param initialOwner account allowed to set the minter (once)
    /// @param cap_ maximum total supply, in the token's smallest unit (18 decimals)
    /// @param genesisHolder receives the genesis allocation (ignored when `genesisSupply` is zero)
    /// @param genesisSupply tokens minted at construction; counts against the cap
    constructor(address initialOwner, uint256 cap_, address genesisHolder, uint256 genesisSupply)
        ERC20("Veil", "VEIL")
        ERC20Capped(cap_)
        Ownable(initialOwner)
    {
        if (genesisSupply > 0) _mint(genesisHolder, genesisSupply);
    }

    /// @notice Names the minter (the Rewards contract) for good and renounces ownership.
    /// @param minter_ the account that alone may mint from now on
    function setMinter(address minter_) external onlyOwner {
        if (minter != address(0)) revert MinterAlreadySet(minter);
        if (minter_ == address(0)) revert InvalidMinter();
        minter = minter_;
        emit MinterSet(minter_);
        _transferOwnership(address(0));
    }

    /// @notice Mints `amount` to `to`. Only the minter; reverts with ERC20ExceededCap beyond the cap.
    function mint(address to, uint256 amount) external {
        // While no minter is set, `minter` is zero and no sender can match it.
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
